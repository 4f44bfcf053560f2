"""Personal data in student-written text: find it and redact it before the text leaves the process.

Patterns in the style of Microsoft Presidio's recognisers, with checksums where the identifier has one:
emails, phone numbers (9–15 digits), US SSNs (format + the reserved-number rules), payment card numbers
(Luhn), IP addresses, street addresses and postcodes, school names, people's names in context ("my name is
…", "my friend …", a common first name followed by a surname), ages given with a name or in the first person,
dates of birth and student IDs. No model, no network: everything here runs offline in microseconds.

Example:
    >>> found = find_pii("I'm Emma Stone, 11 years old, email emma@example.com")
    >>> redact("I'm Emma Stone, 11 years old, email emma@example.com", found)
    "I'm [NAME], [AGE], email [EMAIL]"
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from edusdk._resources import data_dir


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: its kind (EMAIL, PHONE, …), where it is, and the text as written."""

    kind: str
    start: int
    end: int
    text: str


_WORD = r"[A-Z][a-zà-ÿ'’-]+"
_NAME = rf"{_WORD}(?:\s+{_WORD})?"
_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent"
    r"|Gardens|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Strasse|Straße|Rue|Calle|Via"
)
_STREET_FIRST = (
    r"Rue|Avenue|Boulevard|Bd|Chemin|Impasse|Place|Via|Viale|Piazza|Corso|Vicolo|Calle|Carrer|Avenida|Av\.|Paseo"
    r"|Plaza|Rua|Travessa|Largo|Ulica|ul\."
)
_PARTICLES = r"de|del|de la|des|du|da|di|do|dos|das|della|dei|degli|d'|l'|la|le|los|las"
# IBAN lengths per country (ISO 13616 registry); a candidate must have its country's length and pass mod-97.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}\b")
_SOCIAL = (
    r"instagram|insta|ig|tiktok|tik\s+tok|snapchat|snap|twitter|discord|roblox|fortnite|minecraft|xbox|psn|steam"
    r"|twitch|youtube|telegram|whatsapp|gamertag|username|user\s*name|handle"
)
# (kind, pattern, priority): on overlapping matches the higher priority, then the longer, wins.
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), 9),
    ("URL", re.compile(r"https?://\S+"), 8),
    ("SSN", re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}(?!\d)"), 8),
    ("CARD", re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"), 7),
    (
        "IP_ADDRESS",
        re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"),
        7,
    ),
    (
        "PHONE",
        re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?!\d)"),
        5,
    ),
    (
        "ADDRESS",
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?\s+(?:{_WORD}\s+){{1,3}}(?:{_STREET})\b\.?(?:,?\s+(?:Apt|Unit|Flat)\.?\s*\w+)?"
        ),
        6,
    ),
    ("POSTCODE", re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"), 6),
    (
        "SCHOOL",
        re.compile(
            rf"\b(?:{_WORD}\s+){{1,4}}(?:Elementary|Primary|Middle|High|Secondary|Junior|Grammar|Academy|College|"
            r"Preparatory|Prep|Montessori|School|Schule|École|Escuela)(?:\s+School)?\b"
        ),
        6,
    ),
    (
        "DATE_OF_BIRTH",
        re.compile(r"(?i)\b(?:born\s+on|born|date\s+of\s+birth|DOB|birthday\s+is)[:\s]+[\w ,/.-]{4,20}\d"),
        6,
    ),
    (
        "STUDENT_ID",
        re.compile(r"(?i)\b(?:student|pupil|school|learner)\s*(?:(?:id|number|no)\b\.?|#)[:\s#]*[A-Z0-9-]{4,}"),
        7,
    ),
    (  # "my ID is 20231457", "library card number: 0042-7781", "ID# AB1234" (at least 4 digits)
        "STUDENT_ID",
        re.compile(
            r"(?i)\b(?:id|identification|membership|member|library\s+card)\s*(?:number|no\.?|#)?\s*(?:is|:|#)?\s*"
            r"(?=[A-Z-]*\d(?:[A-Z-]*\d){3})[A-Z0-9][A-Z0-9-]{3,}\b"
        ),
        6,
    ),
    ("IBAN", _IBAN_RE, 8),
    (  # UK National Insurance number: two prefix letters (not D, F, I, Q, U, V; second not O), 6 digits, A–D
        "NATIONAL_ID",
        re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
        7,
    ),
    (  # NHS number (mod-11 check digit) and Canadian SIN (Luhn), only next to their name
        "NATIONAL_ID",
        re.compile(
            r"(?i)\b(?:NHS|health|social\s+insurance|SIN)\s*(?:number|no\.?|#)?\s*(?:is|:)?\s*"
            r"\d{3}[ -]?\d{3}[ -]?\d{3,4}\b"
        ),
        7,
    ),
    (  # Spanish DNI / NIE: 8 digits (or X/Y/Z + 7) and the mod-23 control letter
        "NATIONAL_ID",
        re.compile(r"\b[XYZ]?\d{7,8}-?[A-HJ-NP-TV-Z]\b"),
        7,
    ),
    (  # a DNI / NIE / NIF named as such: "mi DNI es 12345678Z" (the name says what it is; no control letter check)
        "NATIONAL_ID",
        re.compile(r"(?i)\b(?:DNI|NIE|NIF)\s*(?:es|is|:|n[º°o]\.?)?\s*(?-i:[XYZ]?\d{7,8}-?[A-Z])\b"),
        8,
    ),
    (  # national numbers of other countries, named as such and checked where they carry a check digit (round 6):
        # Dutch BSN (11-proof), Polish PESEL (weighted mod 10), Brazilian CPF (two mod-11 digits), French NIR (key
        # 97), Italian codice fiscale (its 16-character shape), German tax and social-insurance numbers
        "NATIONAL_ID",
        re.compile(
            r"(?i)\b(?:BSN|burgerservicenummer|sofinummer|PESEL|CPF|NIR|num[ée]ro\s+de\s+s[ée]curit[ée]\s+sociale|"
            r"codice\s+fiscale|steuer-?id|steueridentifikationsnummer|sozialversicherungsnummer|"
            r"n[úu]mero\s+de\s+la\s+seguridad\s+social|NSS|AHV)\b[^\d\n]{0,12}"
            r"(?=[A-Z0-9 .-]*\d)[A-Z0-9][A-Z0-9 .-]{6,22}[A-Z0-9]\b"
        ),
        8,
    ),
    (  # an Italian codice fiscale anywhere: six letters, two digits, month letter, two digits, letter, 3 digits, letter
        "NATIONAL_ID",
        re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b"),
        7,
    ),
    (  # passport, driving licence, national insurance, tax numbers named as such
        "NATIONAL_ID",
        re.compile(
            r"(?i)\b(?:passport|driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|national\s+insurance|NI|tax|"
            r"social\s+security|personal|ID\s+card|identity\s+card|health\s+card)\s*(?:number|no\.?|#|ID)\s*(?:is|:)?\s*"
            r"(?=[A-Z0-9 -]*\d)[A-Z0-9][A-Z0-9 -]{4,18}[A-Z0-9]\b"
        ),
        6,
    ),
    (  # social-media handles: "@kid_gamer99", "my insta is kid.gamer", "snap: lily_rose"
        "HANDLE",
        re.compile(
            rf"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.]{{2,29}}\b|(?i:\b(?:my\s+)?(?:{_SOCIAL})(?:\s+(?:name|id|account|tag))?)"
            # (round 9) a dot counts as a handle's mark only inside it: "the steam engine." is not a Steam handle
            rf"\s*(?:is|:|=|-)?\s*@?(?=[A-Za-z0-9_.]*(?:[\d_]|\.\w))[A-Za-z0-9_][A-Za-z0-9_.]{{2,29}}\b"
        ),
        5,
    ),
    (  # German street names with the type joined on, then the number: "Lindenweg 4", "Hauptstraße 17, 10115 Berlin"
        "ADDRESS",
        re.compile(
            r"\b[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)"
            r"\s+\d{1,4}[a-z]?\b(?:,?\s+\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+)?"
        ),
        6,
    ),
    (  # French addresses in lower case with the postcode: "8 rue des Lilas, 69003 Lyon"
        "ADDRESS",
        re.compile(
            rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|boulevard|chemin|allée|impasse|quai)\s+"
            rf"(?:(?i:{_PARTICLES})\s+)*{_WORD}(?:\s+{_WORD})?(?:,?\s+\d{{5}}\s+{_WORD})?"
        ),
        6,
    ),
    (  # street type before the name, number before or after: "7 Rue de la Paix", "Calle Mayor 12", "Via Roma 15"
        "ADDRESS",
        re.compile(
            rf"(?:\b\d{{1,5}}[A-Za-z]?,?\s+)?\b(?:{_STREET_FIRST})\s+(?:(?i:{_PARTICLES})\s+)*{_WORD}"
            rf"(?:\s+{_WORD})?(?:,?\s+\d{{1,5}}[A-Za-z]?\b)?"
        ),
        6,
    ),
]
# (round 8) A date: "3 September 2014", "September 3rd, 2014", "03/09/2014".
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|"
    r"nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))(?![\w/.-])"
)
_PATTERNS += [
    (  # (round 8) a birthday with its date: "turns 11 on 3 September 2014", "her birthday is on May 4th"
        "DATE_OF_BIRTH",
        re.compile(
            rf"(?i)\b(?:(?:turns|turning|turned|will\s+be)\s+\d{{1,2}}\s+(?:years?\s+old\s+)?on\s+(?:the\s+)?{_DATE}"
            rf"|birthday\b[^.!?\n]{{0,30}}?\b(?:on|is)\s+(?:the\s+)?{_DATE})"
        ),
        6,
    ),
    (  # (round 8) decimal latitude, longitude with 4+ decimals (about 10 m): where a pupil lives or is
        "GEO_LOCATION",
        re.compile(
            r"(?<![\d.])[-+]?(?:[1-8]?\d|90)\.\d{4,}°?(?:\s*[NS](?!\w))?\s*[,;/ ]\s*"
            r"[-+]?(?:1[0-7]\d|0?\d?\d|180)\.\d{4,}°?"
            r"(?:\s*[EW](?!\w))?(?![\d.])"
        ),
        8,
    ),
]
# (round 9) Student text in Chinese and Arabic: mobile numbers written without separators (China 1[3-9] + 9 digits,
# Saudi 05 + 8 digits, with or without the country code), addresses (路 / 街 … 号, 室; شارع + number), a name after
# "我叫" / "我的名字是" / "اسمي", an age ("10岁", "عمري 11 سنة"), and degree-minute-second coordinates.
_MOBILE = r"(?:\+?86[\s-]?)?1[3-9]\d{9}|(?:\+?966[\s-]?5|05)\d{8}"
_PATTERNS += [
    ("PHONE", re.compile(rf"(?<![\d+])(?:{_MOBILE})(?!\d)"), 6),
    (
        "ADDRESS",
        re.compile(
            r"[\u4e00-\u9fff]{1,12}(?:路|街|道|巷|大道|胡同)\d{1,5}号(?:\d{1,4}(?:单元|栋|号楼|楼))?(?:\d{1,5}(?:室|号房))?"
        ),
        6,
    ),
    ("ADDRESS", re.compile(r"(?:شارع|حي|طريق)\s+[\u0621-\u064a]+(?:\s+[\u0621-\u064a]+)?\s+\d{1,5}"), 6),
    ("NAME", re.compile(r"(?<=我叫)[\u4e00-\u9fff]{2,4}|(?<=我的名字是)[\u4e00-\u9fff]{2,4}"), 4),
    ("NAME", re.compile(r"(?<=اسمي )[\u0621-\u064a]+(?:\s+[\u0621-\u064a]+)?"), 4),
    ("AGE", re.compile(r"\d{1,2}\s?(?:岁|歲)|عمري\s+\d{1,2}(?:\s+(?:سنة|عاما|عامًا|سنوات))?"), 3),
    (
        "GEO_LOCATION",
        re.compile(
            r"(?<!\d)(?:[1-8]?\d|90)°\s?[0-5]?\d['′]\s?(?:[0-5]?\d(?:\.\d+)?(?:\"|″|''))?\s?[NS]\s*[,;/ ]?\s*"
            r"(?:1[0-7]\d|0?\d?\d|180)°\s?[0-5]?\d['′]\s?(?:[0-5]?\d(?:\.\d+)?(?:\"|″|''))?\s?[EW](?!\w)"
        ),
        8,
    ),
]
# (round 10) Formats from national specifications, and student text in Turkish, Japanese and Korean:
# - vehicle registration plates: after a word that names one ("car reg", "number plate", "license plate", "Kennzeichen",
#   "matrícula", "plaque", "targa", "kenteken", "plaka"), or in the current UK format (two letters, two digits, three
#   letters: "KM19 XRT");
# - the Turkish T.C. kimlik number (11 digits, first not 0, two check digits) and Turkish street addresses
#   ("Atatürk Caddesi No: 15"), a name after "adım" ("my name is");
# - Japanese and Korean phone numbers (0X0-XXXX-XXXX, 010-XXXX-XXXX; any number directly after a CJK character, where
#   `\b` does not separate it), Japanese addresses (都 / 道 / 府 / 県 … 区 / 市 / 町 / 村 + block numbers), names after
#   私は / 私の名前は / 僕は … です and 제 이름은 / 저는 … 입니다, ages (10歳, 11살).
_PLATE_CUE = (
    r"(?i:(?:car|vehicle|van|my|our|his|her|their|dad'?s|mum'?s|mom'?s)\s+reg(?:istration)?|"
    r"reg(?:istration)?\s+(?:number|plate|no\.?)|number\s*plates?|licen[cs]e\s+plates?|plate\s+number|"
    r"kennzeichen|nummernschild|matr[ií]cula|plaque(?:\s+d'immatriculation)?|immatriculation|targa|kenteken|placa|"
    r"tablica\s+rejestracyjna|plaka)"
)
_CJK = r"\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_PATTERNS += [
    (
        "VEHICLE_PLATE",
        re.compile(
            rf"(?<!\w){_PLATE_CUE}(?!\w)[^.\n\d]{{0,25}}?(?<![\w-])(?P<v>(?=[A-Z0-9 -]*\d)(?=[A-Z0-9 -]*[A-Z])"
            r"(?=(?:[ -]?[A-Z0-9]){5})[A-Z0-9]{1,4}(?:[ -]?[A-Z0-9]{1,5}){1,2})(?![\w-])"
        ),
        6,
    ),
    ("VEHICLE_PLATE", re.compile(r"(?<![\w-])[A-Z]{2}\d{2}\s?[A-Z]{3}(?![\w-])"), 5),
    ("NATIONAL_ID", re.compile(r"(?<![\d.-])[1-9]\d{10}(?![\d.-])"), 7),  # T.C. kimlik no: checked in `_valid`
    (
        "ADDRESS",
        re.compile(
            r"\b(?:[A-ZÇĞİÖŞÜ][a-zçğıöşü]+\s+){1,3}(?:Caddesi|Cad\.|Sokak|Sokağı|Sk\.|Bulvarı|Blv\.|Mahallesi|Mah\.)"
            r",?\s*(?:No\s*[:.]?\s*)?\d{1,5}(?:\s*/\s*\d{1,4})?(?:,?\s*(?:Daire|D\.)\s*[:.]?\s*\d{1,4})?"
        ),
        6,
    ),
    ("NAME", re.compile(r"(?<=\b[Aa]dım )[A-ZÇĞİÖŞÜ][a-zçğıöşü]+(?:\s+[A-ZÇĞİÖŞÜ][a-zçğıöşü]+)?"), 4),
    ("PHONE", re.compile(r"(?<![\d+])(?:\+81[\s-]?|\+82[\s-]?|0)\d{1,4}-\d{1,4}-\d{4}(?!\d)"), 6),
    (
        "PHONE",
        re.compile(
            rf"(?<=[{_CJK}])(?:\+\d{{1,3}}[\s.-]?)?(?:\(\d{{1,4}}\)[\s.-]?)?\d{{2,4}}(?:[\s.-]?\d{{2,4}}){{1,4}}(?!\d)"
        ),
        5,
    ),
    (
        "ADDRESS",
        re.compile(
            rf"(?:東京都|北海道|京都府|大阪府|[\u4e00-\u9fff]{{2,3}}県)[{_CJK}]{{0,12}}?(?:区|市|町|村)[{_CJK}]{{0,12}}?"
            r"\d{1,4}(?:(?:丁目|番地?|号|-|−|ー)\d{1,4}){1,3}(?:号)?"
        ),
        6,
    ),
    (
        "NAME",
        re.compile(
            rf"(?<=私は)[{_CJK}]{{2,6}}?(?=です)|(?<=私の名前は)[{_CJK}]{{2,6}}?(?=です|。|、)|(?<=僕は)[{_CJK}]{{2,6}}?(?=です)|"
            r"(?<=제 이름은 )[\uac00-\ud7af]{2,4}|(?<=저는 )[\uac00-\ud7af]{2,4}(?=입니다|이에요|예요)"
        ),
        4,
    ),
    ("AGE", re.compile(r"\d{1,2}\s?(?:歳|살)"), 3),
]


# (round 11) Credentials a student types in: "my password is Tiger2012!", "login: mason.reid / Tiger2012!", "mot de
# passe : soleil44", "パスワードはabc123". The value must look like a secret (`_secret_like`): a digit, a symbol or an
# inner capital, so "my password is strong" is not one. Student text only (not in CONTACT_KINDS): a lesson on password
# safety shows example passwords on purpose.
_PASSWORD_CUE = (
    r"password|passwort|passcode|passwd|pwd|pw|contrase[ñn]a|mot\s+de\s+passe|mdp|senha|wachtwoord|has[łl]o|[şs]ifre|"
    r"lösenord|adgangskode|salasana|пароль|كلمة\s+المرور|पासवर्ड|kata\s+sandi"
)
_PATTERNS += [
    (
        "CREDENTIAL",
        re.compile(
            rf"(?i)\b(?:{_PASSWORD_CUE})\b\s*(?:is|es|est|ist|é|è|to|jest|:|=|-)?\s*[:=]?\s*(?P<v>[^\s,;]{{3,40}})"
        ),
        8,
    ),
    (
        "CREDENTIAL",
        re.compile(
            r"(?i)\b(?:log-?in|sign-?in|user\s*name|user|account)\s*(?:is|:|=)\s*(?P<v>[^\s,;/]+\s*/\s*[^\s,;]+)"
        ),
        8,
    ),
    (
        "CREDENTIAL",
        re.compile(r"(?:パスワード|密码|密碼|비밀번호)\s*[:：]?\s*(?:は|是|는|은)?\s*(?P<v>[!-~]{3,40})"),
        8,
    ),
]


def _secret_like(value: str) -> bool:
    """A value that looks like a password: a digit, a symbol inside it, or a capital after its first letter."""
    core = value.rstrip(".!?)\"'")
    return any(c.isdigit() for c in core) or any(not c.isalnum() for c in core) or any(c.isupper() for c in core[1:])


def tckn_valid(number: str) -> bool:
    """The two check digits of a Turkish T.C. kimlik number (11 digits, the first not 0).

    Example:
        >>> tckn_valid("10000000146"), tckn_valid("10000000147")
        (True, False)
    """
    d = [int(c) for c in number if c.isdigit()]
    if len(d) != 11 or d[0] == 0:
        return False
    if (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10 != d[9]:
        return False
    return sum(d[:10]) % 10 == d[10]


_BARE_IM = re.compile(r"(?i)im\s+")
_FIRST_PERSON_AGE = re.compile(
    r"(?i)\b(?:I'?m|I\s+am|I\s+turned|I'll\s+be)\s+(\d{1,2})(?:\s*(?:years?\s+old|yrs?\s+old|y/?o))?\b"
)
_AGE = re.compile(
    r"(?i)\b\d{1,2}\s*(?:-|\s)?(?:years?|yrs?)(?:-|\s)?old\b|\baged?\s+\d{1,2}\b|\bturn(?:s|ed|ing)\s+\d{1,2}\b"
)
_NAME_CONTEXT = re.compile(
    # (round 7) at a word start: "Jim Crow" is not "I'm Crow", "Alsou Smith" not "sou Smith"
    rf"(?<![\w'’])(?:(?i:my\s+name\s+is|my\s+name's|name:|call\s+me|I'?m|I\s+am|this\s+is|named|called"
    # the same in es, fr, de, it, pt, nl, pl (round 6)
    rf"|me\s+llamo|mi\s+nombre\s+es|soy|je\s+m'appelle|je\s+suis|mon\s+nom\s+est|ich\s+hei(?:ß|ss)e|"
    rf"mein\s+name\s+ist|mi\s+chiamo|il\s+mio\s+nome\s+è|sono|chamo-me|eu\s+sou|sou|(?:o\s+)?meu\s+nome\s+é|"
    rf"mijn\s+naam\s+is|ik\s+heet|ik\s+ben|mam\s+na\s+imi[ęe]|nazywam\s+si[ęe]|jestem)"
    rf"|(?i:my|our)\s+(?i:friend|best\s+friend|brother|sister|cousin|teacher|mom|mum|dad|son|daughter|classmate)"
    rf"(?:'s\s+name\s+is)?)\s+({_NAME})"
)
# (round 14) "a caterpillar character named Pip", "a robot called Bolt": a name given to a character, an animal or a toy
# in the request is fiction, not a pupil's personal data.
_FICTION_BEFORE = re.compile(
    r"(?i)\b(?:character|robot|dog|cat|puppy|kitten|bear|dragon|fox|owl|mascot|puppet|hero|heroine|alien|monster|"
    r"caterpillar|butterfly|animal|pet|toy|doll|teddy|bunny|rabbit|mouse|frog|turtle|tortoise|lion|elephant|penguin|"
    r"dinosaur|unicorn|fairy|wizard|witch|princess|prince|knight|pirate|superhero|creature|bird|fish|horse|pig|duck|"
    r"snail|ant|bee|spider|worm|tree|planet|spaceship|car|train)s?\b[^.!?\n]{0,25}$"
)
_NOT_NAMES = frozenset({  # capitalised words that follow "I'm" or "my friend" but are not names
    "I", "The", "A", "An", "In", "On", "At", "To", "From", "Not", "Very", "So", "Just", "Really", "Happy",
    "Sad", "Sorry", "Going", "Here", "Back", "Ready", "Sure", "Fine", "Good", "Tired", "Hungry", "Learning",
    "Trying", "Looking", "Studying", "Writing", "Doing", "Years", "Grade", "Year", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mr", "Mrs", "Ms", "Dr", "Professor",
})  # fmt: skip


# A name followed by one of these names a law, an era, a place or an idea, not a person (round 7).
_NAMED_THING = re.compile(
    r"(?:'s)?\s+(?:laws?|Laws?|Act|era|Era|Age|Movement|doctrine|Doctrine|effect|Effect|Plan|"
    r"prize|Prize|Award|Medal|principle|Principle|theorem|Theorem|equation|Institute|University|"
    r"College|School|Bridge|Memorial|Museum|Foundation|Center|Centre|Trust|Library|Airport|Station|Park|Stadium|"
    r"Street|Avenue|Road|Square|Day|Week|Rebellion|Revolution|Treaty|Trial|Case|Affair|Expedition)\b"
)


def _strip_possessive(pair: str) -> str:
    return re.sub(r"['’]s$", "", pair)


@functools.lru_cache(maxsize=4)
def _public_figure_names(directory: Path | None = None) -> frozenset[str]:
    """The full names of `blocklists/public_figures.yaml` and (round 9) `blocklists/copyright.yaml` (terms and aliases
    of two words or more), casefolded: a public figure or a famous character named in a prompt is a likeness or
    copyright question ("Hermione Granger"), not a pupil's personal data."""
    root = directory if directory is not None else data_dir("moderation")
    out: set[str] = set()
    for name in ("public_figures.yaml", "copyright.yaml"):
        path = root / "blocklists" / name
        if path.is_file():
            out |= _registry_names(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return frozenset(out)


def _registry_names(data: dict[str, object]) -> set[str]:
    """The casefolded first two words of every term and alias of two words or more in one registry file."""
    out: set[str] = set()
    categories = data.get("categories")
    for entries in (categories if isinstance(categories, dict) else {}).values():
        for entry in entries or []:
            if isinstance(entry, dict):
                for name in [entry.get("term", ""), *(entry.get("aliases") or [])]:
                    words = str(name).split()
                    if len(words) >= 2:
                        out.add(" ".join(words[:2]).casefold())
    return out


def _public_figure(pair: str, directory: Path | None) -> bool:
    return _strip_possessive(" ".join(pair.split()).casefold()) in _public_figure_names(directory)


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of a card number (spaces and hyphens ignored).

    Example:
        >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
        (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


@functools.lru_cache(maxsize=4)
def first_names(directory: Path | None = None) -> frozenset[str]:
    """Common given names (`moderation/pii/first_names.txt`, one per line) used to spot `Firstname Surname`."""
    root = directory if directory is not None else data_dir("moderation")
    path = root / "pii" / "first_names.txt"
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(n.strip() for n in lines if n.strip() and not n.startswith("#"))


@functools.lru_cache(maxsize=4)
def known_figures(directory: Path | None = None) -> frozenset[str]:
    """Historical people lessons name on purpose (`moderation/pii/known_figures.txt`): not personal data."""
    root = directory if directory is not None else data_dir("moderation")
    path = root / "pii" / "known_figures.txt"
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(" ".join(n.split()).casefold() for n in lines if n.strip() and not n.startswith("#"))


def iban_valid(iban: str) -> bool:
    """An IBAN's country length and ISO 7064 mod-97 check (spaces and hyphens ignored).

    Example:
        >>> iban_valid("DE89 3704 0044 0532 0130 00"), iban_valid("DE89 3704 0044 0532 0130 01")
        (True, False)
    """
    compact = re.sub(r"[ -]", "", iban).upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def nhs_valid(number: str) -> bool:
    """The mod-11 check digit of a 10-digit UK NHS number.

    Example:
        >>> nhs_valid("943 476 5919"), nhs_valid("943 476 5918")
        (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) != 10:
        return False
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == digits[9] and check != 10


def dni_valid(text: str) -> bool:
    """The mod-23 control letter of a Spanish DNI ("12345678Z") or NIE ("X1234567L").

    Example:
        >>> dni_valid("12345678Z"), dni_valid("12345678A")
        (True, False)
    """
    compact = text.replace("-", "").upper()
    number = compact[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return number.isdigit() and len(number) == 8 and "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == compact[-1]


def _national_id_valid(text: str) -> bool:
    named = re.match(r"(?i)(BSN|burgerservicenummer|sofinummer|PESEL|CPF)\b", text)
    if named:
        digits = [int(c) for c in text[named.end() :] if c.isdigit()]
        return _checked_number(named.group(1).upper(), digits)
    if re.fullmatch(r"[XYZ]?\d{7,8}-?[A-Z]", text):
        return dni_valid(text)
    if re.match(r"(?i)(?:NHS|health)", text):
        return nhs_valid(text)
    if re.match(r"(?i)(?:social\s+insurance|SIN)", text):
        return _luhn9(text)
    return True


def _checked_number(kind: str, digits: list[int]) -> bool:
    """The check digits of a Dutch BSN (11-proof), a Polish PESEL or a Brazilian CPF.

    Example:
        >>> _checked_number("BSN", [1, 1, 1, 2, 2, 2, 3, 3, 3]), _checked_number("BSN", [1, 1, 1, 2, 2, 2, 3, 3, 4])
        (True, False)
    """
    if kind in ("BSN", "BURGERSERVICENUMMER", "SOFINUMMER"):
        if len(digits) != 9:
            return False
        return sum(d * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True)) % 11 == 0
    if kind == "PESEL":
        if len(digits) != 11:
            return False
        total = sum(d * w for d, w in zip(digits, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=False))
        return (10 - total % 10) % 10 == digits[10]
    if len(digits) != 11 or len(set(digits)) == 1:  # CPF
        return False
    for n in (9, 10):
        check = sum(d * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True)) * 10 % 11 % 10
        if check != digits[n]:
            return False
    return True


def _luhn9(text: str) -> bool:
    """The Luhn check of a 9-digit Canadian Social Insurance Number."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 9:
        return False
    total = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def _valid(kind: str, text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if kind == "CREDENTIAL":
        return _secret_like(text)
    if kind == "CARD":
        return luhn_valid(text)
    if kind == "IBAN":
        return iban_valid(text)
    if kind == "NATIONAL_ID":
        if re.fullmatch(r"[1-9]\d{10}", text):  # (round 10) a bare 11-digit number: a T.C. kimlik number or nothing
            return tckn_valid(text)
        return _national_id_valid(text)
    if kind == "ADDRESS":
        return digits > 0  # a street name alone ("Place Value", "Via Appia") is not an address
    if kind == "PHONE":
        # 9+ digits, and not a plain year range or a big number written without separators in a sentence
        if re.fullmatch(_MOBILE, text):  # (round 9) a Chinese or Saudi mobile number needs no separators
            return True
        return 9 <= digits <= 15 and not re.fullmatch(r"\d{4}[-–]\d{4}", text) and not re.fullmatch(r"\d{9,}", text)
    return True


# What authored lesson content (outline, script, prompts) is checked for: contact data and identifiers.
# Names and ages are looked for only in student-written text: lessons name historical and fictional people.
CONTACT_KINDS = frozenset(
    {"EMAIL", "URL", "SSN", "CARD", "IBAN", "NATIONAL_ID", "IP_ADDRESS", "PHONE", "ADDRESS", "POSTCODE",
     "DATE_OF_BIRTH", "STUDENT_ID", "VEHICLE_PLATE"}
)  # fmt: skip


def find_pii(text: str, *, directory: Path | None = None, kinds: frozenset[str] | None = None) -> list[PiiSpan]:
    """Every piece of personal data in `text` (of `kinds`, default all), in order, non-overlapping.

    Example:
        >>> [s.kind for s in find_pii("Call 555-123-4567 or write to 12 Oak Street")]
        ['PHONE', 'ADDRESS']
    """
    candidates: list[tuple[int, int, int, str]] = []  # (start, end, priority, kind)
    for kind, pattern, priority in _PATTERNS:
        value = "v" in pattern.groupindex  # (round 10) the data is group `v`, its cue words ("number plate") are not
        for m in pattern.finditer(text):
            if _valid(kind, m.group("v") if value else m.group()):
                candidates.append(
                    (m.start("v"), m.end("v"), priority, kind) if value else (m.start(), m.end(), priority, kind)
                )
    names: list[tuple[int, int]] = []
    known, figures = first_names(directory), known_figures(directory)
    for m in _NAME_CONTEXT.finditer(text):
        words = m.group(1).split()
        if words[0] in _NOT_NAMES:
            continue
        cue = text[m.start() : m.start(1)].strip().casefold()
        if cue in ("named", "called") and _FICTION_BEFORE.search(text[max(0, m.start() - 60) : m.start()]):
            continue
        # (round 8) "im" without an apostrophe is also German ("im Unterricht", "Im Wald"): only before a known name.
        if _BARE_IM.fullmatch(text[m.start() : m.start(1)]) and words[0] not in known:
            continue
        end = m.start(1) + len(words[0]) if len(words) == 2 and words[1] in _NOT_NAMES else m.end(1)
        names.append((m.start(1), end))
    for m in re.finditer(rf"\b({_WORD})\s+({_WORD})\b", text):
        pair = f"{m.group(1)} {m.group(2)}".casefold()
        if pair in figures or _strip_possessive(pair) in figures or _public_figure(m.group(), directory):
            continue
        if _NAMED_THING.match(text, m.end()):  # "Jim Crow laws", "Marshall Plan", "Nobel Prize": not a person
            continue
        if m.group(1) in known and m.group(2) not in _NOT_NAMES and m.group(2) not in known:
            names.append((m.start(), m.end()))
    candidates += [(s, e, 4, "NAME") for s, e in names]
    first_person_age = [(m.start(), m.end()) for m in _FIRST_PERSON_AGE.finditer(text) if m.group(1)]
    if names or first_person_age:
        candidates += [(m.start(), m.end(), 3, "AGE") for m in _AGE.finditer(text)]
        candidates += [(m.start(1), m.end(), 3, "AGE") for m in _FIRST_PERSON_AGE.finditer(text)]
    chosen: list[tuple[int, int, int, str]] = []
    for cand in sorted(candidates, key=lambda c: (-c[2], -(c[1] - c[0]), c[0])):
        if all(cand[1] <= c[0] or cand[0] >= c[1] for c in chosen):
            chosen.append(cand)
    return [PiiSpan(kind, s, e, text[s:e]) for s, e, _p, kind in sorted(chosen) if kinds is None or kind in kinds]


def redact(text: str, spans: list[PiiSpan]) -> str:
    """`text` with each span replaced by its kind in brackets (`[EMAIL]`, `[NAME]` …)."""
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out += [text[last : span.start], f"[{span.kind}]"]
        last = span.end
    return "".join([*out, text[last:]])
