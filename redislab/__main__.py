from redislab.cli import main

main()
