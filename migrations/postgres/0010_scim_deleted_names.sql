-- Deleted SCIM users by name. The live ones have scim_users_name (a partial index: only live
-- names are unique); the directory's word on a person (store::scim_users::scim_standing) also
-- needs to find a deleted one, and without this index that lookup read the whole table on
-- every sign-in and activation.
CREATE INDEX scim_users_deleted_name ON scim_users(business_id, user_name_key) WHERE deleted_at IS NOT NULL;
