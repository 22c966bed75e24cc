from labelsense.cli.main import run

run()
