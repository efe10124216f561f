"""Behavioural evaluation: does an organism do what its spec says?"""
