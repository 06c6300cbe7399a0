"""unitrack.evaluation"""
