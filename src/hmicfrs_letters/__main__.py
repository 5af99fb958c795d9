from hmicfrs_letters.launch import main

main()
