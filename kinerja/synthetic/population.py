"""The people who fill the positions, across periods.

Every position has a chain of occupants. At a fixed epoch (2020-S1) each position gets a founder;
in every later semester about 2% of positions change hands: the occupant leaves on some day of the
semester and a successor joins a little later. Who works where in a period therefore depends only
on the seed, the agency, the number of employees and the period itself, never on which other
periods were requested: generating 2025-S1 alone or with 2025-S2 gives the same NIPs.

Each person carries persistent traits (how well they work, how disciplined they are), so a good
performer stays good from one semester to the next and some employees earn four consecutive good
predikat (promotion eligibility).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from kinerja.period import Period
from kinerja.synthetic import names
from kinerja.synthetic.common import Seeds, Stream, period_key
from kinerja.synthetic.organisation import (
    ADMINISTRATOR,
    FUNGSIONAL,
    JPT,
    PELAKSANA,
    PENGAWAS,
    Organisation,
)

EPOCH = Period(2020, 1)
CHURN_RATE = 0.02  # share of positions changing hands per semester
STALE_LEAVER_SHARE = 0.3  # last semester's leavers the HR snapshot still lists (INACTIVE)
NIP_SEQ_RESERVED = 900  # sequences 900-999 are never given to real people: bad rows use them

_AGE_RANGE = {JPT: (45, 57), ADMINISTRATOR: (38, 56), PENGAWAS: (30, 56), FUNGSIONAL: (24, 56),
              PELAKSANA: (21, 56)}
_TMT_MONTHS = np.array([1, 2, 3, 4, 12, 5, 6, 7, 8, 9, 10, 11])
_TMT_MONTH_P = np.array([0.2, 0.12, 0.2, 0.1, 0.12, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03, 0.02])


@dataclass
class People:
    """Everyone ever created up to the last requested period, in creation order."""

    position: np.ndarray  # int64
    created: np.ndarray  # period key in which they took the position (EPOCH for founders)
    join_date: np.ndarray  # datetime64[D], NaT for founders (in post before any period)
    leave_key: np.ndarray  # period key in which they leave, -1 while in post
    leave_date: np.ndarray  # datetime64[D], NaT while in post
    nip: np.ndarray  # object: str
    name: np.ndarray  # object: str
    pppk: np.ndarray  # bool
    grade: np.ndarray  # object: str
    jenjang: np.ndarray  # object: "" or the rank appended to a fungsional position title
    # Persistent traits, standard normal unless noted.
    results: np.ndarray  # how well they reach their SKP targets
    behaviour: np.ndarray  # how the supervisor sees their conduct
    discipline: np.ndarray  # higher: more absences, more lateness
    arrival_mean: np.ndarray  # seconds after midnight on an ordinary day
    arrival_sd: np.ndarray  # seconds
    late_p: np.ndarray  # chance of a clearly late day
    early_p: np.ndarray  # chance of leaving early
    missing_p: np.ndarray  # chance of a forgotten tap
    weekend_p: np.ndarray  # chance of working a given weekend day or holiday

    def __len__(self) -> int:
        return len(self.position)


@dataclass
class Roster:
    """The rows of one period's employees.csv (before bad rows), as arrays in file order."""

    period: Period
    person: np.ndarray
    position: np.ndarray
    unit: np.ndarray
    nip: np.ndarray
    supervisor_nip: np.ndarray  # object: "" for the head of the agency
    active_from: np.ndarray  # datetime64[D], NaT: before the period
    active_to: np.ndarray  # datetime64[D], NaT: still in post

    def __len__(self) -> int:
        return len(self.person)


def _as_day(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


def _grade_pns(ptype: str, track: str, age: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Golongan index into PNS_GRADES: higher with the position and with age."""
    low, high = {JPT: (14, 15), ADMINISTRATOR: (11, 13), PENGAWAS: (9, 11),
                 PELAKSANA: (4, 9)}.get(ptype, (8, 13) if track != "terampil" else (6, 10))
    seniority = np.clip((age - 25) / 30, 0, 1)
    return np.clip(np.round(low + (high - low) * (0.6 * seniority + 0.4 * u)), low, high).astype(
        np.int64)


def _jenjang(track: str, grade_index: int, pppk: bool, title: str) -> str:
    if not track or title.startswith("Kepala"):
        return ""
    if pppk:
        rank = 0 if grade_index <= 8 else 1
    elif track == "ahli":
        rank = 0 if grade_index <= 9 else 1 if grade_index <= 11 else 2
    else:
        rank = 0 if grade_index <= 7 else 1 if grade_index <= 9 else 2
    return names.JENJANG[track][rank]


def _format_name(rng_row: np.ndarray, female: bool, domain: str, ptype: str, track: str,
                 title: str, born_before_1970: bool) -> str:
    """An Indonesian name with the academic titles HR systems store with it."""
    u = rng_row
    first_pool = names.FEMALE_FIRST if female else names.MALE_FIRST
    pick = lambda pool, x: pool[int(x * len(pool))]  # noqa: E731
    if u[0] < 0.12:
        core = pick(names.MONONYM_FEMALE if female else names.MONONYM_MALE, u[1])
    else:
        last_pool = names.LAST_UNISEX + (names.LAST_FEMALE if female else ())
        parts = [pick(first_pool, u[1])]
        if u[0] > 0.75:
            parts.append(pick(names.MIDDLE_FEMALE if female else names.MIDDLE_MALE, u[2]))
        parts.append(pick(last_pool, u[3]))
        core = " ".join(dict.fromkeys(parts))  # no "Sri Sri"
    prefix, degree = "", ""
    if title.startswith("Dokter"):
        prefix = "drg." if "Gigi" in title else "dr."
        degree = pick(("M.Kes", "Sp.PD", "Sp.A", "M.K.M"), u[5]) if u[4] < 0.25 else ""
    elif ptype in (JPT, ADMINISTRATOR) or (ptype == PENGAWAS and u[4] < 0.35):
        degree = pick(names.DEGREE_MASTER, u[5]) if u[4] < 0.7 or ptype == JPT else \
            pick(names.DEGREE_BACHELOR, u[5])
        if ptype == JPT and u[6] < 0.1:
            prefix = "Dr."
    elif track == "terampil" or (ptype == PELAKSANA and u[4] < 0.3):
        degree = pick(names.DEGREE_DIPLOMA_BY_DOMAIN.get(domain, names.DEGREE_DIPLOMA), u[5])
    elif ptype in (FUNGSIONAL, PENGAWAS) or u[4] < 0.6:
        degree = pick(names.DEGREE_BACHELOR_BY_DOMAIN.get(domain, names.DEGREE_BACHELOR), u[5])
    if not prefix and born_before_1970 and degree.startswith("S.") and u[6] < 0.4:
        prefix, degree = ("Dra." if female else "Drs."), ""  # the pre-1993 bachelor title
    text = f"{prefix} {core}" if prefix else core
    return f"{text}, {degree}" if degree else text


def _create(org: Organisation, positions: np.ndarray, reference: np.ndarray,
            fresh: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Attributes of new people for `positions`, each joining on `reference` (a day); `fresh`
    marks new recruits (TMT CPNS in the month they join) rather than transfers."""
    n = len(positions)
    pos = [org.positions[int(p)] for p in positions]
    ptype = np.array([p.position_type for p in pos], dtype=object)
    track = np.array([p.track for p in pos], dtype=object)
    domain = np.array([p.domain for p in pos], dtype=object)
    u = rng.random((n, 8))
    fresh = fresh & np.isin(ptype, [FUNGSIONAL, PELAKSANA])  # nobody starts as a head
    pppk = u[:, 0] < np.array([p.pppk_share for p in pos])
    female_share = np.select([ptype == JPT, domain == "health", domain == "education"],
                             [0.25, 0.7, 0.65], 0.45)
    female = u[:, 1] < female_share
    low = np.array([_AGE_RANGE[t][0] for t in ptype], dtype=float)
    high = np.array([_AGE_RANGE[t][1] for t in ptype], dtype=float)
    low = np.where(pppk, 25, low)
    high = np.where(pppk, 50, high)
    high = np.where(fresh & ~pppk, np.minimum(high, 35), high)
    age = low + (high - low) * u[:, 2]
    ref_days = reference.astype(np.int64)
    birth_days = ref_days - np.round(age * 365.25).astype(np.int64)
    earliest_tmt = birth_days + int(20 * 365.25)
    tmt_days = earliest_tmt + (u[:, 3] * np.maximum(ref_days - 30 - earliest_tmt, 0)).astype(
        np.int64)
    pppk_start = np.datetime64("2019-02-01").astype(np.int64)
    tmt_days = np.where(pppk, np.maximum(tmt_days, pppk_start), tmt_days)
    tmt_days = np.where(fresh, ref_days, np.minimum(tmt_days, ref_days))
    tmt = tmt_days.astype("datetime64[D]").astype("datetime64[M]")
    tmt_year = tmt.astype("datetime64[Y]").astype(np.int64) + 1970
    natural_month = tmt.astype(np.int64) % 12 + 1
    # Intakes cluster in a few months (formation TMT 1 March, 1 January, ...), but never after
    # the person joined.
    preferred = rng.choice(_TMT_MONTHS, size=n, p=_TMT_MONTH_P)
    tmt_month = np.where((u[:, 4] < 0.6) & ~fresh & (tmt_year < reference.astype(
        "datetime64[Y]").astype(np.int64) + 1970), preferred, natural_month)
    grade_index = np.zeros(n, dtype=np.int64)
    for t in (JPT, ADMINISTRATOR, PENGAWAS, FUNGSIONAL, PELAKSANA):
        for tr in ("", "ahli", "terampil"):
            mask = (ptype == t) & (track == tr)
            if mask.any():
                grade_index[mask] = _grade_pns(t, tr, age[mask], u[mask, 5])
    pppk_grade = np.where(track == "terampil", 6, np.where(ptype == PELAKSANA, 4, 8))
    pppk_grade = pppk_grade + (u[:, 5] < 0.15)
    grades = np.where(pppk, np.array(names.PPPK_GRADES, dtype=object)[pppk_grade],
                      np.array(names.PNS_GRADES, dtype=object)[grade_index])
    name_draws = rng.random((n, 7))
    birth = birth_days.astype("datetime64[D]")
    born_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    people_names = np.array([
        _format_name(name_draws[i], bool(female[i]), domain[i], ptype[i], track[i],
                     pos[i].title, born_year[i] < 1970) for i in range(n)], dtype=object)
    jenjang = np.array([_jenjang(track[i], int(pppk_grade[i] if pppk[i] else grade_index[i]),
                                 bool(pppk[i]), pos[i].title) for i in range(n)], dtype=object)
    # Traits: results and behaviour correlate, the undisciplined tend to perform a bit worse.
    z = rng.standard_normal((n, 6))
    results = z[:, 0]
    behaviour = 0.6 * results + 0.8 * z[:, 1]
    discipline = -0.2 * results + 0.98 * z[:, 2]
    t = rng.random((n, 4))
    # Most arrive between 07:00 and 07:30; the undisciplined cut it fine.
    arrival_mean = np.clip(7 * 3600 + 12 * 60 + 6 * 60 * z[:, 3] + 4 * 60 * discipline,
                           6 * 3600 + 45 * 60, 7 * 3600 + 27 * 60)
    late_p = np.clip(0.04 * np.exp(0.7 * discipline + 0.3 * z[:, 4]), 0.003, 0.6)
    early_p = np.clip(0.02 * np.exp(0.6 * discipline + 0.4 * z[:, 5]), 0.002, 0.4)
    shift_work = np.isin(domain, ["health"]) | (t[:, 0] < 0.08)
    return {
        "birth": birth, "tmt_year": tmt_year, "tmt_month": tmt_month,
        "female": female, "pppk": pppk, "grade": grades, "name": people_names,
        "jenjang": jenjang, "nip_draw": rng.integers(1, 100, n), "results": results,
        "behaviour": behaviour, "discipline": discipline,
        "arrival_mean": arrival_mean, "arrival_sd": 60 * (3 + 5 * t[:, 1]),
        "late_p": late_p, "early_p": early_p,
        "missing_p": np.clip(0.004 * np.exp(0.6 * z[:, 5] * t[:, 2]), 0.001, 0.05),
        "weekend_p": np.where(shift_work & (t[:, 3] < 0.5), 0.08, 0.0),
    }


def _assign_nips(birth: np.ndarray, tmt_year: np.ndarray, tmt_month: np.ndarray,
                 female: np.ndarray, draw: np.ndarray, block: int) -> np.ndarray:
    """NIPs in creation order: birth date, TMT, gender, then a sequence whose hundreds digit is
    the agency's block and whose last two digits are drawn per person (bumped past namesakes),
    so two agencies almost never share a NIP. Earlier people never change when later ones are
    added."""
    prefixes = [
        f"{b.astype(object):%Y%m%d}{y:04d}{m:02d}{2 if f else 1}"
        for b, y, m, f in zip(birth, tmt_year, tmt_month, female, strict=True)
    ]
    used: set[str] = set()
    out = np.empty(len(prefixes), dtype=object)
    for i, prefix in enumerate(prefixes):
        low = int(draw[i])
        for step in range(NIP_SEQ_RESERVED):
            seq = block * 100 + (low + step - 1) % 99 + 1 if step < 99 else \
                (block * 100 + step) % (NIP_SEQ_RESERVED - 1) + 1
            nip = f"{prefix}{seq:03d}"
            if nip not in used:
                break
        else:  # pragma: no cover - 900 namesakes born the same day and appointed the same month
            raise AssertionError("synthetic NIPs collided")
        used.add(nip)
        out[i] = nip
    return out


def build_people(seeds: Seeds, org: Organisation, last: Period) -> People:
    n_pos = len(org.positions)
    everyone = np.arange(n_pos)
    epoch_day = _as_day(EPOCH.start)
    batches = [(everyone, np.full(n_pos, period_key(EPOCH)), np.full(n_pos, epoch_day),
                np.zeros(n_pos, dtype=bool), seeds.rng(Stream.PEOPLE, period_key(EPOCH)))]
    leave_events: list[tuple[np.ndarray, int, np.ndarray]] = []  # positions, key, leave days
    period = EPOCH.next()
    while period <= last:
        key = period_key(period)
        rng = seeds.rng(Stream.CHURN, key)
        u = rng.random((n_pos, 4))
        changed = np.flatnonzero((u[:, 0] < CHURN_RATE) & (everyone != 0))
        length = (period.end - period.start).days
        start = _as_day(period.start)
        leave = start + (u[changed, 1] * 0.8 * length).astype(np.int64)
        join = np.minimum(leave + 1 + (u[changed, 2] * 45).astype(np.int64),
                          _as_day(period.end) - 1)
        fresh = u[changed, 3] < 0.4
        leave_events.append((changed, key, leave))
        batches.append((changed, np.full(len(changed), key), join, fresh,
                        seeds.rng(Stream.PEOPLE, key)))
        period = period.next()

    parts: dict[str, list[np.ndarray]] = {}
    positions, created, joins = [], [], []
    for pos, keys, join, fresh, rng in batches:
        attrs = _create(org, pos, join, fresh, rng)
        for k, v in attrs.items():
            parts.setdefault(k, []).append(v)
        positions.append(pos)
        created.append(keys)
        joins.append(join)
    attrs = {k: np.concatenate(v) for k, v in parts.items()}
    position = np.concatenate(positions)
    created_key = np.concatenate(created)
    join_date = np.concatenate(joins).astype("datetime64[D]")
    join_date[: n_pos] = np.datetime64("NaT")
    n = len(position)

    # The occupant a change replaces is the last person created for that position before it.
    leave_key = np.full(n, -1, dtype=np.int64)
    leave_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    occupant = everyone.copy()
    offset = n_pos
    for changed, key, leave in leave_events:
        leaving = occupant[changed]
        leave_key[leaving] = key
        leave_date[leaving] = leave
        occupant[changed] = np.arange(offset, offset + len(changed))
        offset += len(changed)

    nip = _assign_nips(attrs["birth"], attrs["tmt_year"], attrs["tmt_month"], attrs["female"],
                       attrs["nip_draw"], seeds.agency_key % (NIP_SEQ_RESERVED // 100))
    return People(
        position=position, created=created_key, join_date=join_date, leave_key=leave_key,
        leave_date=leave_date, nip=nip, name=attrs["name"], pppk=attrs["pppk"],
        grade=attrs["grade"], jenjang=attrs["jenjang"], results=attrs["results"],
        behaviour=attrs["behaviour"], discipline=attrs["discipline"],
        arrival_mean=attrs["arrival_mean"], arrival_sd=attrs["arrival_sd"],
        late_p=attrs["late_p"], early_p=attrs["early_p"], missing_p=attrs["missing_p"],
        weekend_p=attrs["weekend_p"],
    )


def build_roster(seeds: Seeds, org: Organisation, people: People, period: Period) -> Roster:
    """Who employees.csv lists for `period`: every position's occupant at the period's end,
    those who left during the period (with active_to), and some who left the semester before
    (the HR snapshot was not cleaned; they have no active day)."""
    key = period_key(period)
    n_pos = len(org.positions)
    index = np.arange(len(people))
    in_post = (people.created <= key) & ((people.leave_key < 0) | (people.leave_key > key))
    occupant = np.full(n_pos, -1, dtype=np.int64)
    np.maximum.at(occupant, people.position[in_post], index[in_post])
    left_now = index[people.leave_key == key]
    left_before = index[people.leave_key == key - 1]
    rng = seeds.rng(Stream.ROSTER, key)
    stale = left_before[rng.random(len(left_before)) < STALE_LEAVER_SHARE]
    members = np.concatenate([occupant[occupant >= 0], left_now, stale])
    # HR exports list people by position (unit and hierarchy), predecessors before successors.
    members = members[np.lexsort((members, people.position[members]))]

    position = people.position[members]
    supervisor_pos = np.array([org.positions[p].supervisor for p in range(n_pos)])[position]
    supervisor = np.where(supervisor_pos >= 0, occupant[np.maximum(supervisor_pos, 0)], -1)
    supervisor_nip = np.where(supervisor >= 0, people.nip[np.maximum(supervisor, 0)], "")
    unit = np.array([org.positions[p].unit for p in range(n_pos)])[position]
    leave_key = people.leave_key[members]
    active_to = np.where((leave_key >= 0) & (leave_key <= key), people.leave_date[members],
                         np.datetime64("NaT"))
    return Roster(period, members, position, unit, people.nip[members],
                  supervisor_nip.astype(object), people.join_date[members],
                  active_to.astype("datetime64[D]"))


def position_name(org: Organisation, people: People, person: int) -> str:
    title = org.positions[int(people.position[person])].title
    jenjang = people.jenjang[person]
    return f"{title} {jenjang}" if jenjang else title

