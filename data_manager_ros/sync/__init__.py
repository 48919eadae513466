"""Getting closed files from the robot to the cloud, resumably."""
