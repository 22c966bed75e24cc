"""The command-line front end over `labelsense.core`."""
