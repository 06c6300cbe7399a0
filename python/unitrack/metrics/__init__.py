"""unitrack.metrics"""
