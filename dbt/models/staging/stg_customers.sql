-- One row per customer of demo.customers (Postgres CDC): keys and codes normalized, names trimmed.
select
    lower(trim(customer))               as customer,
    trim(full_name)                     as full_name,
    upper(trim(country))                as country,
    lower(trim(tier))                   as tier,
    cast(updated_at as timestamptz)     as updated_at
from {{ source('demo', 'customers') }}
