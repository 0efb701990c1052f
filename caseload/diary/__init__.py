"""The worker's diary and booking appointments ahead."""
