"""The feed library and its views: the formats table, what the library may import."""
