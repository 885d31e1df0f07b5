-- Databases DuckHouse needs besides the main one: the schema registry's storage.
CREATE DATABASE duckhouse_registry;
