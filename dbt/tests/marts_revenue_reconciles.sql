-- The two marts agree on total revenue: a row returned here means one of them lost or doubled orders.
with by_customer as (
    select coalesce(sum(revenue), 0) as revenue from {{ ref('customer_revenue') }}
),

by_day as (
    select coalesce(sum(revenue), 0) as revenue from {{ ref('daily_orders') }}
)

select by_customer.revenue as customer_revenue_total, by_day.revenue as daily_orders_total
from by_customer cross join by_day
where by_customer.revenue <> by_day.revenue
