-- One row per customer: who they are and what they ordered. Customers without orders are kept (zero revenue);
-- orders whose customer has not arrived from CDC yet are kept too (name, country and tier NULL), so the revenue
-- here always adds up to the revenue in daily_orders.
with orders as (
    select * from {{ ref('stg_orders') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

per_customer as (
    select
        customer,
        count(*)                                                          as order_count,
        count(*) filter (where status = 'cancelled')                      as cancelled_orders,
        sum(amount) filter (where status <> 'cancelled')                  as revenue,
        min(ordered_at)                                                   as first_order_at,
        max(ordered_at)                                                   as last_order_at
    from orders
    group by customer
),

every_customer as (
    select customer from customers
    union
    select customer from per_customer
)

select
    every_customer.customer,
    customers.full_name,
    customers.country,
    customers.tier,
    coalesce(per_customer.order_count, 0)                                 as order_count,
    coalesce(per_customer.cancelled_orders, 0)                            as cancelled_orders,
    cast(coalesce(per_customer.revenue, 0) as decimal(38, 2))             as revenue,
    per_customer.first_order_at,
    per_customer.last_order_at,
    customers.customer is not null                                        as known_customer
from every_customer
left join customers on customers.customer = every_customer.customer
left join per_customer on per_customer.customer = every_customer.customer
where every_customer.customer is not null
