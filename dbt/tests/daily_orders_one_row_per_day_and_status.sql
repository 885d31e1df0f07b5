-- daily_orders has exactly one row per (order_date, status): rows returned here are duplicates.
select order_date, status, count(*) as rows_for_key
from {{ ref('daily_orders') }}
group by order_date, status
having count(*) > 1
