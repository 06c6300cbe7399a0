"""Built-in task adapters (registered on first use of :func:`unitrack.evaluation.tasks.get_task`)."""
