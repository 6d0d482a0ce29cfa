"""The demo judicial-record set seeded by `ecert seed-demo` (and `make run`).

Personal ID numbers follow the real structure (place code, century/gender digit, birth year)
so the demo citizens' requests pass validation. None of these people exist.
"""

from __future__ import annotations

DEMO_CITIZENS = [
    # (personal_id, name, birth date, gender, what the record store says)
    ("001090012345", "Nguyễn Văn An", "1990-05-17", "male", "never convicted: Form 1 is issued at once"),
    ("079185001234", "Trần Thị Bình", "1985-11-02", "female", "conviction expunged: Form 1 says no criminal record"),
    ("048088004321", "Lê Văn Cường", "1988-01-23", "male", "active conviction: waits for staff review"),
    ("031192007777", "Hoàng Thị Dung", "1992-07-30", "female", "bankruptcy ban in force"),
    (
        "001203001122",
        "Đỗ Minh Phúc",
        "2003-09-09",
        "male",
        "never convicted, not in the store; try a two-province history",
    ),
    ("092075005678", "Phạm Quốc Hưng", "1975-03-14", "male", "two convictions, one expunged (Form 2 lists both)"),
]

DEMO_RECORDS = [
    {
        "personal_id": "001090012345",
        "full_name": "Nguyễn Văn An",
        "birth_date": "1990-05-17",
        "gender": "male",
        "convictions": [],
        "bans": [],
    },
    {
        "personal_id": "079185001234",
        "full_name": "Trần Thị Bình",
        "birth_date": "1985-11-02",
        "gender": "female",
        "convictions": [
            {
                "court": "Tòa án nhân dân Quận 1, Thành phố Hồ Chí Minh",
                "judgment_number": "45/2008/HS-ST",
                "judgment_date": "2008-06-12",
                "offences": [{"article": "138", "name": "Trộm cắp tài sản"}],
                "principal_penalty": "Cải tạo không giam giữ 12 tháng",
                "additional_penalties": [],
                "serving_status": "Đã chấp hành xong",
                "expunged": True,
                "expunged_at": "2010-07-01",
                "basis": "Đương nhiên được xóa án tích",
            }
        ],
        "bans": [],
    },
    {
        "personal_id": "048088004321",
        "full_name": "Lê Văn Cường",
        "birth_date": "1988-01-23",
        "gender": "male",
        "convictions": [
            {
                "court": "Tòa án nhân dân Quận Hải Châu, Thành phố Đà Nẵng",
                "judgment_number": "112/2022/HS-ST",
                "judgment_date": "2022-09-20",
                "offences": [{"article": "174", "name": "Lừa đảo chiếm đoạt tài sản"}],
                "principal_penalty": "Phạt tù 24 tháng",
                "additional_penalties": ["Phạt tiền 20.000.000 đồng"],
                "serving_status": "Đang chấp hành án",
                "expunged": False,
                "expunged_at": None,
            }
        ],
        "bans": [],
    },
    {
        "personal_id": "031192007777",
        "full_name": "Hoàng Thị Dung",
        "birth_date": "1992-07-30",
        "gender": "female",
        "convictions": [],
        "bans": [
            {
                "decision": "Quyết định tuyên bố phá sản số 03/2023/QĐ-TBPS",
                "court": "Tòa án nhân dân Thành phố Hải Phòng",
                "positions": "Thành lập, quản lý doanh nghiệp, hợp tác xã",
                "from": "2023-04-01",
                "to": "2028-04-01",
            }
        ],
    },
    {
        "personal_id": "092075005678",
        "full_name": "Phạm Quốc Hưng",
        "birth_date": "1975-03-14",
        "gender": "male",
        "convictions": [
            {
                "court": "Tòa án nhân dân Quận Ninh Kiều, Thành phố Cần Thơ",
                "judgment_number": "07/1999/HS-ST",
                "judgment_date": "1999-02-10",
                "offences": [{"article": "104", "name": "Cố ý gây thương tích"}],
                "principal_penalty": "Phạt tù 18 tháng",
                "additional_penalties": [],
                "serving_status": "Đã chấp hành xong",
                "expunged": True,
                "expunged_at": "2004-01-15",
                "basis": "Đương nhiên được xóa án tích",
            },
            {
                "court": "Tòa án nhân dân Thành phố Cần Thơ",
                "judgment_number": "88/2021/HS-PT",
                "judgment_date": "2021-11-05",
                "offences": [
                    {"article": "227", "name": "Vi phạm quy định về nghiên cứu, thăm dò, khai thác tài nguyên"}
                ],
                "principal_penalty": "Phạt tù 3 năm nhưng cho hưởng án treo",
                "additional_penalties": ["Cấm đảm nhiệm chức vụ 2 năm"],
                "serving_status": "Đang chấp hành án treo",
                "expunged": False,
                "expunged_at": None,
            },
        ],
        "bans": [],
    },
]
