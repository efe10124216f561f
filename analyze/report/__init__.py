"""What a person reads: findings, plots and the self-contained report.html."""
