"""Demo: the demo shoppers' address books (a default address in Shanghai, a second one elsewhere)."""
from accounts.models import Address
from accounts.services import address_save
from permissions.models import User

DEMO_ADDRESSES = {
    "shopper1@example.com": [
        {"label": "家", "name": "沈购物 Shen Shopper", "phone": "+86 139 1234 5678", "country": "CN", "region": "31",
         "city": "市辖区", "district": "浦东新区", "line1": "世纪大道100号", "line2": "1201室", "postcode": "200120"},
        {"label": "公司", "name": "沈购物 Shen Shopper", "phone": "13912345678", "country": "CN", "region": "44",
         "city": "深圳市", "district": "南山区", "line1": "科技园南区1号", "line2": "", "postcode": "518057"},
    ],
    "shopper2@example.com": [
        {"label": "Home", "name": "Sam Shopper", "phone": "+1 415 555 0100", "country": "US", "region": "CA",
         "city": "San Francisco", "district": "", "line1": "1 Market St", "line2": "Apt 5", "postcode": "94105"},
        {"label": "Office", "name": "Sam Shopper", "phone": "13800138000", "country": "CN", "region": "11",
         "city": "市辖区", "district": "朝阳区", "line1": "建国路88号", "line2": "", "postcode": "100022"},
    ],
}


def seed_addresses(merchants) -> None:
    """Idempotent: a shopper who has addresses already is left alone."""
    for email, rows in DEMO_ADDRESSES.items():
        user = User.objects.filter(email=email).first()
        if user is None or Address.objects.filter(user=user).exists():
            continue
        for row in rows:
            address_save(user=user, data=row)
