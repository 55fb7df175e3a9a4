"""The ways people and programs reach the service: REST, the command line (later Chainlit and Slack)."""
