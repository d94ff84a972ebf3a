"""No super-admin registration: catalog tables live in merchant schemas, while the super-admin
(`/admin/` on the mall's root host) runs in `public`, where these tables do not exist. Operators
inspect stock with `manage.py stock_check [--schema m_<slug>]`; merchants use their dashboard and API."""
