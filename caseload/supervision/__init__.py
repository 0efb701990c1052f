"""Case-management supervision: the exception queue, reviews, sessions, team load,
reassignment and the reflective notes workers share (docs/supervisor-guide.md)."""
