"""The activities service: activities, occurrences, sign-ups, waitlists and attendance."""
