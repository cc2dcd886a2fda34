"""student_age: the student_list course's HTTP API (ages of students, behind basic auth)."""
