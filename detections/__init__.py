"""detections package."""
