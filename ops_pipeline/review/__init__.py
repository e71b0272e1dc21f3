"""The operations review: campaigns, targets, experiments and churn risk, as pure computations."""
