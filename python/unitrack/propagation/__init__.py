"""unitrack.propagation"""
