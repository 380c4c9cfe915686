from selfhosted.server import main

main()
