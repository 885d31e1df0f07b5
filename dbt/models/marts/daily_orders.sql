-- One row per UTC day and order status: how many orders, their revenue (cancelled excluded) and gross amount.
select
    order_date,
    status,
    count(*)                                                                        as orders,
    cast(coalesce(sum(amount) filter (where status <> 'cancelled'), 0) as decimal(38, 2)) as revenue,
    cast(sum(amount) as decimal(38, 2))                                             as gross_amount
from {{ ref('stg_orders') }}
group by order_date, status
