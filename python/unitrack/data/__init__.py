"""unitrack.data"""
