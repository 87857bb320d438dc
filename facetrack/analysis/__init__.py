"""Per-face analysis on top of detection and tracking: landmarks, head pose, eyes, mouth."""
