"""A tutor's pupils per session on their phone: each pupil once, their grade and subjects, nothing else."""

from organiser.school_pages import tutored


def row(occurrence_id, pupil_id, name, grade, subject, subject_zh):
    return {
        "occurrence_id": occurrence_id,
        "pupil_id": pupil_id,
        "pupil_name": name,
        "grade": grade,
        "subject": subject,
        "subject_zh": subject_zh,
        "tutor_id": 7,
    }


def test_pupils_grouped_by_session_each_once_with_their_subjects():
    rows = [
        row(1, 10, "小明", 3, "math", "数学"),
        row(1, 11, "小红", 2, "english", "英语"),
        row(1, 10, "小明", 3, "chinese", "语文"),
        row(2, 10, "小明", 3, "math", "数学"),
    ]
    shown = tutored(rows)
    assert shown[1] == [
        {"name": "小红", "grade": 2, "subjects": [("英语", "english")]},
        {"name": "小明", "grade": 3, "subjects": [("数学", "math"), ("语文", "chinese")]},
    ]
    assert shown[2] == [{"name": "小明", "grade": 3, "subjects": [("数学", "math")]}]
    assert tutored([]) == {}
