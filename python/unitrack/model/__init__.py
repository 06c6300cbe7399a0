"""unitrack.model"""
