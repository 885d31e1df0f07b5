-- One row per order of demo.orders (CSV-fed): typed, keys and codes normalized, plus the order's UTC day.
select
    cast(order_id as bigint)                                          as order_id,
    lower(trim(customer))                                             as customer,
    cast(amount as decimal(18, 2))                                    as amount,
    lower(trim(status))                                               as status,
    cast(ordered_at as timestamptz)                                   as ordered_at,
    cast(timezone('UTC', cast(ordered_at as timestamptz)) as date)    as order_date
from {{ source('demo', 'orders') }}
