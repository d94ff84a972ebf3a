"""Carriers Mallard knows, with the format of their tracking numbers and a tracking link."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    pattern: str  # full-match regex of a tracking number
    example: str
    track_url: str  # {number} is replaced; links go to the carrier's own site, opened by the shopper

    def valid(self, number: str) -> bool:
        return re.fullmatch(self.pattern, number or "") is not None

    def link(self, number: str) -> str:
        return self.track_url.format(number=number)


CARRIERS: dict[str, Carrier] = {c.code: c for c in [
    Carrier("sf", "SF Express 顺丰速运", r"SF\d{12,13}", "SF1234567890123", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}"),
    Carrier("zto", "ZTO 中通快递", r"(7[35]|78)\d{10,13}", "731234567890", "https://www.zto.com/?num={number}"),
    Carrier("yto", "YTO 圆通速递", r"YT\d{13}", "YT1234567890123", "https://www.yto.net.cn/?waybill={number}"),
    Carrier("jd", "JD Logistics 京东物流", r"JD[A-Z0-9]{11,13}", "JDVA12345678901", "https://www.jdl.com/trackQuery?waybill={number}"),
    Carrier("ems", "EMS 中国邮政", r"[A-Z]{2}\d{9}CN|1\d{12}", "EA123456789CN", "https://www.ems.com.cn/queryList?mailNum={number}"),
    Carrier("dhl", "DHL Express", r"\d{10}", "1234567890", "https://www.dhl.com/track?tracking-id={number}"),
    Carrier("ups", "UPS", r"1Z[0-9A-Z]{16}", "1Z999AA10123456784", "https://www.ups.com/track?tracknum={number}"),
    Carrier("fedex", "FedEx", r"\d{12}|\d{15}", "123456789012", "https://www.fedex.com/fedextrack/?trknbr={number}"),
]}


def carrier_get(code: str) -> Carrier | None:
    return CARRIERS.get((code or "").strip().lower())
