"""Outbreak-event rules as data: how long close contacts stay under medical observation,
when an event may be declared over, and the kinds of investigation steps.

Observation periods are the diseases' maximum incubation periods as used in Chinese control
protocols [K] where well known, else design values [U]; keep them editable here (or override
with the setting ``PHIS_OUTBREAK_OBSERVATION_DAYS``) rather than in the services.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Days of medical observation from the last exposure (== maximum incubation period).
OBSERVATION_DAYS: dict[str, tuple[int, str]] = {
    "plague": (9, "K"),
    "cholera": (5, "K"),
    "sars": (14, "K"),
    "covid-19": (7, "U"),
    "novel-influenza-subtype": (10, "U"),
    "h7n9": (10, "U"),
    "hpai": (10, "U"),
    "measles": (21, "K"),
    "rubella": (21, "K"),
    "varicella": (21, "K"),
    "mumps": (25, "K"),
    "pertussis": (21, "K"),
    "diphtheria": (7, "K"),
    "meningococcal-meningitis": (7, "K"),
    "scarlet-fever": (7, "U"),
    "hfmd": (7, "U"),
    "influenza": (4, "U"),
    "infectious-diarrhoea": (3, "U"),
    "dysentery": (7, "U"),
    "typhoid-paratyphoid": (21, "U"),
    "hepatitis-a": (45, "K"),
    "viral-hepatitis": (45, "U"),
    "acute-haemorrhagic-conjunctivitis": (3, "U"),
    "japanese-encephalitis": (14, "U"),
}
DEFAULT_OBSERVATION_DAYS = 14  # [U]

# An event is usually declared over when no new case has had its onset for two maximum
# incubation periods [K: common outbreak-response practice]; the closing form warns, the
# investigator decides.
QUIET_PERIODS_TO_CLOSE = 2

STEP_KINDS = (
    ("data_review", _("资料核查")),
    ("phone", _("电话核实")),
    ("field", _("现场调查")),
    ("sampling", _("采样送检")),
    ("lab", _("实验室结果")),
    ("measure", _("防控措施")),
    ("communication", _("风险沟通")),
    ("report", _("向上级报告")),
    ("other", _("其他")),
)

SETTINGS = (
    ("school", _("学校")),
    ("kindergarten", _("托幼机构")),
    ("household", _("家庭")),
    ("workplace", _("工作场所")),
    ("community", _("社区/村")),
    ("healthcare", _("医疗机构")),
    ("care_home", _("养老机构")),
    ("food", _("餐饮/集体用餐")),
    ("other", _("其他")),
)

EXPOSURE_KINDS = (
    ("household", _("共同居住")),
    ("classmate", _("同班/同校")),
    ("coworker", _("同事")),
    ("healthcare", _("诊疗护理")),
    ("meal", _("共同进餐")),
    ("transport", _("同乘交通工具")),
    ("other", _("其他接触")),
)


def observation_days(disease_code: str) -> int:
    override = getattr(settings, "PHIS_OUTBREAK_OBSERVATION_DAYS", {}) or {}
    if disease_code in override:
        return int(override[disease_code])
    return OBSERVATION_DAYS.get(disease_code, (DEFAULT_OBSERVATION_DAYS, "U"))[0]
