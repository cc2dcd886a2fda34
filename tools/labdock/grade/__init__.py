"""`labdock grade`: score students' Docker deliverables on a course grid, their code contained.

grids (YAML data) -> checks (one function per check name) -> runner (one submission, then a
class with bounded parallelism) -> report (table, JSON, CSV, feedback files). The sandbox owns
every engine object a run creates: labelled with the run id and removed by that label.
"""
