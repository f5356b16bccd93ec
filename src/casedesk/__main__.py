from casedesk.cli.commands import main

main()
