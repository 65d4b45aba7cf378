"""Customers: the card's "📲 Invite to bot" (invite.py), a customer's shared phone (phone.py), /forget
and its request for the admins (forget.py), and leads waiting for an owner (leads.py: /leads, Take).

Opening an invite (`/start c_<token>`) is in handlers/start.py; the work is in services/customers.py
and services/leads.py. This area comes before handlers/clients: a customer's shared contact links their
account there, where a manager's shared contact is a new client.
"""

from aiogram import Router

from handlers.customers import forget, invite, leads, phone

routers: list[Router] = [invite.router, phone.router, forget.router, leads.router]
