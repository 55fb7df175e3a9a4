"""Small pieces every layer shares: settings, logging set-up and the project's error types."""
