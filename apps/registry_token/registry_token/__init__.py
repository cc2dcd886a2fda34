"""The lab registry's token service (distribution's `auth.token`): checks a user's password
against the accounts file and signs short-lived JWTs granting only what the account may do."""
