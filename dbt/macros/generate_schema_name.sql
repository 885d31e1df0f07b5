{#-
  Models land in the schema they configure, as is (`staging`, `analytics`), not dbt's default
  `<target schema>_<custom schema>` (`main_analytics`): the DuckDB names stay stable for Superset, Trino users and
  the CLI. Models without a custom schema go to the target's schema (`main`).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
