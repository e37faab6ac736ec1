"""The broker stage: paper-trades confirmed signals and logs every order through the outbox."""
