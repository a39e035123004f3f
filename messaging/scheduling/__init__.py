"""Scheduled sends (spec §3b.8): a send accepted now, delivered when its time comes.

- times: when a schedule is due (an instant, or per time zone for local delivery)
- services: create, update, cancel a schedule, and fire those that are due
- tasks: the periodic tick that fires them (config/celery.py's beat schedule)
"""
