from hmicfrs_letters.cli import main

main()
