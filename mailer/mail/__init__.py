"""Messages as values: reading them (``read``), our addresses (``addresses``), the headers that
say what a message is (``headers``), the meeting's calendar UID (``calendar_uid``) and the one
MIME writer (``write``).

Pure: no database, no Flask, no transport. The domain, inbound and outbound
code all use it; it imports none of them.
"""
