"""Cloud regions, the location each provider publishes, and the grid zone that serves it.

The input of ``benchmarks/regions_refresh.py`` (which writes ``ecometer/data/cloud_regions.json``).
Each row: ``"provider:region": (published location, ISO alpha-3, zone key, note)``. The location is
the provider's own (its region name or documentation page, cited per provider in ``PROVIDERS``;
the Cloud Carbon Footprint and CodeCarbon tables for AWS, Azure and Google Cloud). The zone is
ecometer's assignment of that location to the Electricity Maps zone (or Chinese provincial grid,
``CN-XX``) serving it. For Google Cloud the assignment was checked against Google's own 2024
per-region grid figures (which Google takes from Electricity Maps): each mapped zone's 2024 direct
intensity lies within 4 % of Google's figure for the region.
"""

from __future__ import annotations

SOURCES = {
    "aws-regions": {
        "citation": (
            "Amazon Web Services, 'Regions, Availability Zones, and Local Zones' (docs.aws.amazon.com/AWSEC2/latest/"
            "UserGuide/using-regions-availability-zones.html): region names with their city or area"
        ),
        "year": 2025,
        "licence": "AWS documentation; locations cited as facts",
    },
    "azure-geographies": {
        "citation": (
            "Microsoft Azure, 'Azure geographies' (azure.microsoft.com/explore/global-infrastructure/geographies): "
            "regions and their state or city"
        ),
        "year": 2025,
        "licence": "Microsoft documentation; locations cited as facts",
    },
    "gcp-locations": {
        "citation": (
            "Google Cloud, 'Cloud locations' (cloud.google.com/about/locations) and GoogleCloudPlatform/region-carbon-info "
            "(region and location)"
        ),
        "year": 2024,
        "licence": "Google documentation; region-carbon-info Apache-2.0",
    },
    "alibaba-regions": {
        "citation": "Alibaba Cloud, 'Regions and zones' (alibabacloud.com/help/en/ecs/regions-and-zones): region ID and city",
        "year": 2025,
        "licence": "Alibaba Cloud documentation; locations cited as facts",
    },
    "tencent-regions": {
        "citation": (
            "Tencent Cloud, 'Regions and Availability Zones' (tencentcloud.com/document/product/213/6091): region and city"
        ),
        "year": 2025,
        "licence": "Tencent Cloud documentation; locations cited as facts",
    },
    "huawei-regions": {
        "citation": "Huawei Cloud, 'Regions and Endpoints' (developer.huaweicloud.com/intl/en-us/endpoint): region and city",
        "year": 2025,
        "licence": "Huawei Cloud documentation; locations cited as facts",
    },
    "ccf-coefficients": {
        "citation": (
            "Cloud Carbon Footprint, ccf-coefficients grid-emissions-factors-{aws,azure,gcp}.csv: region -> country, "
            "NERC region or location (their 2021 grid factors are not used)"
        ),
        "year": 2021,
        "licence": "Apache-2.0",
    },
    "codecarbon-cloud": {
        "citation": "CodeCarbon (mlco2/codecarbon), cloud impact table: Google Cloud region, country, state and city",
        "year": 2024,
        "licence": "MIT",
    },
}

PROVIDERS = {
    "aws": {
        "name": "Amazon Web Services",
        "location_source": "aws-regions",
        "also_sources": ["ccf-coefficients"],
        "preset": "aws-2025",
        "dmi_sys_vendor": ["Amazon EC2"],
    },
    "azure": {
        "name": "Microsoft Azure",
        "location_source": "azure-geographies",
        "also_sources": ["ccf-coefficients"],
        "preset": "microsoft-2024",
        "dmi_sys_vendor": ["Microsoft Corporation"],
    },
    "gcp": {
        "name": "Google Cloud",
        "location_source": "gcp-locations",
        "also_sources": ["ccf-coefficients", "codecarbon-cloud"],
        "preset": "google-2025",
        "dmi_sys_vendor": ["Google"],
    },
    "alibaba": {
        "name": "Alibaba Cloud",
        "location_source": "alibaba-regions",
        "preset": None,
        "dmi_sys_vendor": ["Alibaba Cloud"],
    },
    "tencent": {
        "name": "Tencent Cloud",
        "location_source": "tencent-regions",
        "preset": None,
        "dmi_sys_vendor": ["Tencent Cloud"],
    },
    "huawei": {
        "name": "Huawei Cloud",
        "location_source": "huawei-regions",
        "preset": None,
        "dmi_sys_vendor": ["HUAWEI CLOUD"],
    },
}

_PJM = "US-MIDA-PJM"
CLOUD_REGIONS: dict[str, tuple[str, str, str, str]] = {
    # ---- AWS
    "aws:us-east-1": ("Northern Virginia, USA", "USA", _PJM, ""),
    "aws:us-east-2": ("Ohio, USA", "USA", _PJM, ""),
    "aws:us-west-1": ("Northern California, USA", "USA", "US-CAL-CISO", ""),
    "aws:us-west-2": ("Oregon, USA", "USA", "US-NW-BPAT", "Umatilla/Boardman area, Bonneville balancing authority"),
    "aws:af-south-1": ("Cape Town, South Africa", "ZAF", "ZA", ""),
    "aws:ap-east-1": ("Hong Kong", "HKG", "HK", ""),
    "aws:ap-south-1": ("Mumbai, India", "IND", "IN-WE", ""),
    "aws:ap-south-2": ("Hyderabad, India", "IND", "IN-SO", ""),
    "aws:ap-northeast-1": ("Tokyo, Japan", "JPN", "JP-TK", ""),
    "aws:ap-northeast-2": ("Seoul, South Korea", "KOR", "KR", ""),
    "aws:ap-northeast-3": ("Osaka, Japan", "JPN", "JP-KN", ""),
    "aws:ap-southeast-1": ("Singapore", "SGP", "SG", ""),
    "aws:ap-southeast-2": ("Sydney, Australia", "AUS", "AU-NSW", ""),
    "aws:ap-southeast-3": ("Jakarta, Indonesia", "IDN", "ID", ""),
    "aws:ap-southeast-4": ("Melbourne, Australia", "AUS", "AU-VIC", ""),
    "aws:ap-southeast-5": ("Malaysia (Kuala Lumpur area)", "MYS", "MY-WM", ""),
    "aws:ca-central-1": ("Montreal, Quebec, Canada", "CAN", "CA-QC", ""),
    "aws:ca-west-1": ("Calgary, Alberta, Canada", "CAN", "CA-AB", ""),
    "aws:cn-north-1": ("Beijing, China", "CHN", "CN-BJ", "operated by Sinnet"),
    "aws:cn-northwest-1": ("Ningxia, China", "CHN", "CN-NX", "operated by NWCD"),
    "aws:eu-central-1": ("Frankfurt, Germany", "DEU", "DE", ""),
    "aws:eu-central-2": ("Zurich, Switzerland", "CHE", "CH", ""),
    "aws:eu-west-1": ("Ireland", "IRL", "IE", ""),
    "aws:eu-west-2": ("London, England", "GBR", "GB", ""),
    "aws:eu-west-3": ("Paris, France", "FRA", "FR", ""),
    "aws:eu-south-1": ("Milan, Italy", "ITA", "IT-NO", ""),
    "aws:eu-south-2": ("Aragon, Spain", "ESP", "ES", ""),
    "aws:eu-north-1": ("Stockholm, Sweden", "SWE", "SE-SE3", ""),
    "aws:il-central-1": ("Tel Aviv, Israel", "ISR", "IL", ""),
    "aws:me-south-1": ("Bahrain", "BHR", "BH", ""),
    "aws:me-central-1": ("United Arab Emirates", "ARE", "AE", ""),
    "aws:mx-central-1": ("Queretaro, Mexico", "MEX", "MX", ""),
    "aws:sa-east-1": ("Sao Paulo, Brazil", "BRA", "BR-CS", "Southeast/Centre-West subsystem"),
    # ---- Azure (names as the Azure CLI spells them)
    "azure:centralus": ("Iowa, USA", "USA", "US-MIDW-MISO", ""),
    "azure:eastus": ("Virginia, USA", "USA", _PJM, ""),
    "azure:eastus2": ("Virginia, USA", "USA", _PJM, ""),
    "azure:northcentralus": ("Illinois (Chicago), USA", "USA", _PJM, "Chicago area, ComEd in PJM"),
    "azure:southcentralus": ("Texas (San Antonio), USA", "USA", "US-TEX-ERCO", ""),
    "azure:westcentralus": ("Wyoming, USA", "USA", "US-NW-WACM", "Cheyenne area"),
    "azure:westus": ("California, USA", "USA", "US-CAL-CISO", ""),
    "azure:westus2": ("Washington (Quincy), USA", "USA", "US-NW-GCPD", "Grant County PUD"),
    "azure:westus3": ("Arizona (Phoenix area), USA", "USA", "US-SW-AZPS", "APS or SRP serve the Phoenix area"),
    "azure:eastasia": ("Hong Kong", "HKG", "HK", ""),
    "azure:southeastasia": ("Singapore", "SGP", "SG", ""),
    "azure:northeurope": ("Ireland", "IRL", "IE", ""),
    "azure:westeurope": ("Netherlands", "NLD", "NL", ""),
    "azure:centralindia": ("Pune, India", "IND", "IN-WE", ""),
    "azure:southindia": ("Chennai, India", "IND", "IN-SO", ""),
    "azure:westindia": ("Mumbai, India", "IND", "IN-WE", ""),
    "azure:uksouth": ("London, England", "GBR", "GB", ""),
    "azure:ukwest": ("Cardiff, Wales", "GBR", "GB", ""),
    "azure:francecentral": ("Paris, France", "FRA", "FR", ""),
    "azure:germanywestcentral": ("Frankfurt, Germany", "DEU", "DE", ""),
    "azure:belgiumcentral": ("Brussels, Belgium", "BEL", "BE", ""),
    "azure:swedencentral": ("Gavle, Sweden", "SWE", "SE-SE3", ""),
    "azure:norwayeast": ("Oslo, Norway", "NOR", "NO-NO1", ""),
    "azure:switzerlandnorth": ("Zurich, Switzerland", "CHE", "CH", ""),
    "azure:polandcentral": ("Warsaw, Poland", "POL", "PL", ""),
    "azure:italynorth": ("Milan, Italy", "ITA", "IT-NO", ""),
    "azure:spaincentral": ("Madrid, Spain", "ESP", "ES", ""),
    "azure:japaneast": ("Tokyo, Saitama, Japan", "JPN", "JP-TK", ""),
    "azure:japanwest": ("Osaka, Japan", "JPN", "JP-KN", ""),
    "azure:koreacentral": ("Seoul, South Korea", "KOR", "KR", ""),
    "azure:australiaeast": ("New South Wales, Australia", "AUS", "AU-NSW", ""),
    "azure:australiasoutheast": ("Victoria, Australia", "AUS", "AU-VIC", ""),
    "azure:canadacentral": ("Toronto, Canada", "CAN", "CA-ON", ""),
    "azure:canadaeast": ("Quebec City, Canada", "CAN", "CA-QC", ""),
    "azure:brazilsouth": ("Sao Paulo State, Brazil", "BRA", "BR-CS", ""),
    "azure:southafricanorth": ("Johannesburg, South Africa", "ZAF", "ZA", ""),
    "azure:uaenorth": ("Dubai, United Arab Emirates", "ARE", "AE", ""),
    "azure:qatarcentral": ("Doha, Qatar", "QAT", "QA", ""),
    "azure:israelcentral": ("Israel", "ISR", "IL", ""),
    "azure:mexicocentral": ("Queretaro, Mexico", "MEX", "MX", ""),
    # ---- Google Cloud
    "gcp:africa-south1": ("Johannesburg, South Africa", "ZAF", "ZA", ""),
    "gcp:asia-east1": ("Changhua County, Taiwan", "TWN", "TW", ""),
    "gcp:asia-east2": ("Hong Kong", "HKG", "HK", ""),
    "gcp:asia-northeast1": ("Tokyo, Japan", "JPN", "JP-TK", ""),
    "gcp:asia-northeast2": ("Osaka, Japan", "JPN", "JP-KN", ""),
    "gcp:asia-northeast3": ("Seoul, South Korea", "KOR", "KR", ""),
    "gcp:asia-south1": ("Mumbai, India", "IND", "IN-WE", ""),
    "gcp:asia-south2": ("Delhi, India", "IND", "IN-NO", ""),
    "gcp:asia-southeast1": ("Jurong West, Singapore", "SGP", "SG", ""),
    "gcp:asia-southeast2": ("Jakarta, Indonesia", "IDN", "ID", ""),
    "gcp:australia-southeast1": ("Sydney, Australia", "AUS", "AU-NSW", ""),
    "gcp:australia-southeast2": ("Melbourne, Australia", "AUS", "AU-VIC", ""),
    "gcp:europe-central2": ("Warsaw, Poland", "POL", "PL", ""),
    "gcp:europe-north1": ("Hamina, Finland", "FIN", "FI", ""),
    "gcp:europe-north2": ("Stockholm, Sweden", "SWE", "SE-SE3", ""),
    "gcp:europe-southwest1": ("Madrid, Spain", "ESP", "ES", ""),
    "gcp:europe-west1": ("St. Ghislain, Belgium", "BEL", "BE", ""),
    "gcp:europe-west2": ("London, England", "GBR", "GB", ""),
    "gcp:europe-west3": ("Frankfurt, Germany", "DEU", "DE", ""),
    "gcp:europe-west4": ("Eemshaven, Netherlands", "NLD", "NL", ""),
    "gcp:europe-west6": ("Zurich, Switzerland", "CHE", "CH", ""),
    "gcp:europe-west8": ("Milan, Italy", "ITA", "IT-NO", ""),
    "gcp:europe-west9": ("Paris, France", "FRA", "FR", ""),
    "gcp:europe-west10": ("Berlin, Germany", "DEU", "DE", ""),
    "gcp:europe-west12": ("Turin, Italy", "ITA", "IT-NO", ""),
    "gcp:me-central1": ("Doha, Qatar", "QAT", "QA", ""),
    "gcp:me-central2": ("Dammam, Saudi Arabia", "SAU", "SA", ""),
    "gcp:me-west1": ("Tel Aviv, Israel", "ISR", "IL", ""),
    "gcp:northamerica-northeast1": ("Montreal, Quebec, Canada", "CAN", "CA-QC", ""),
    "gcp:northamerica-northeast2": ("Toronto, Ontario, Canada", "CAN", "CA-ON", ""),
    "gcp:northamerica-south1": ("Queretaro, Mexico", "MEX", "MX", ""),
    "gcp:southamerica-east1": ("Sao Paulo, Brazil", "BRA", "BR-CS", ""),
    "gcp:southamerica-west1": ("Santiago, Chile", "CHL", "CL-SEN", ""),
    "gcp:us-central1": ("Council Bluffs, Iowa, USA", "USA", "US-MIDW-MISO", ""),
    "gcp:us-central2": ("Oklahoma, USA", "USA", "US-CENT-SWPP", ""),
    "gcp:us-east1": ("Moncks Corner, South Carolina, USA", "USA", "US-CAR-SC", "Santee Cooper"),
    "gcp:us-east2": ("Georgia, USA", "USA", "US-SE-SOCO", ""),
    "gcp:us-east4": ("Ashburn, Northern Virginia, USA", "USA", _PJM, ""),
    "gcp:us-east5": ("Columbus, Ohio, USA", "USA", _PJM, ""),
    "gcp:us-south1": ("Dallas, Texas, USA", "USA", "US-TEX-ERCO", ""),
    "gcp:us-west1": ("The Dalles, Oregon, USA", "USA", "US-NW-BPAT", ""),
    "gcp:us-west2": ("Los Angeles, California, USA", "USA", "US-CAL-CISO", ""),
    "gcp:us-west3": ("Salt Lake City, Utah, USA", "USA", "US-NW-PACE", ""),
    "gcp:us-west4": ("Las Vegas, Nevada, USA", "USA", "US-NW-NEVP", ""),
    # ---- Alibaba Cloud
    "alibaba:cn-qingdao": ("Qingdao, Shandong, China", "CHN", "CN-SD", ""),
    "alibaba:cn-beijing": ("Beijing, China", "CHN", "CN-BJ", ""),
    "alibaba:cn-zhangjiakou": ("Zhangjiakou, Hebei, China", "CHN", "CN-HE", ""),
    "alibaba:cn-huhehaote": ("Hohhot, Inner Mongolia, China", "CHN", "CN-NM", ""),
    "alibaba:cn-wulanchabu": ("Ulanqab, Inner Mongolia, China", "CHN", "CN-NM", ""),
    "alibaba:cn-hangzhou": ("Hangzhou, Zhejiang, China", "CHN", "CN-ZJ", ""),
    "alibaba:cn-shanghai": ("Shanghai, China", "CHN", "CN-SH", ""),
    "alibaba:cn-nanjing": ("Nanjing, Jiangsu, China", "CHN", "CN-JS", ""),
    "alibaba:cn-fuzhou": ("Fuzhou, Fujian, China", "CHN", "CN-FJ", ""),
    "alibaba:cn-shenzhen": ("Shenzhen, Guangdong, China", "CHN", "CN-GD", ""),
    "alibaba:cn-heyuan": ("Heyuan, Guangdong, China", "CHN", "CN-GD", ""),
    "alibaba:cn-guangzhou": ("Guangzhou, Guangdong, China", "CHN", "CN-GD", ""),
    "alibaba:cn-chengdu": ("Chengdu, Sichuan, China", "CHN", "CN-SC", ""),
    "alibaba:cn-hongkong": ("Hong Kong", "HKG", "HK", ""),
    "alibaba:ap-southeast-1": ("Singapore", "SGP", "SG", ""),
    "alibaba:ap-southeast-5": ("Jakarta, Indonesia", "IDN", "ID", ""),
    "alibaba:ap-northeast-1": ("Tokyo, Japan", "JPN", "JP-TK", ""),
    "alibaba:eu-central-1": ("Frankfurt, Germany", "DEU", "DE", ""),
    "alibaba:eu-west-1": ("London, England", "GBR", "GB", ""),
    "alibaba:us-west-1": ("Silicon Valley, California, USA", "USA", "US-CAL-CISO", ""),
    "alibaba:us-east-1": ("Virginia, USA", "USA", _PJM, ""),
    # ---- Tencent Cloud
    "tencent:ap-guangzhou": ("Guangzhou, Guangdong, China", "CHN", "CN-GD", ""),
    "tencent:ap-shanghai": ("Shanghai, China", "CHN", "CN-SH", ""),
    "tencent:ap-nanjing": ("Nanjing, Jiangsu, China", "CHN", "CN-JS", ""),
    "tencent:ap-beijing": ("Beijing, China", "CHN", "CN-BJ", ""),
    "tencent:ap-chengdu": ("Chengdu, Sichuan, China", "CHN", "CN-SC", ""),
    "tencent:ap-chongqing": ("Chongqing, China", "CHN", "CN-CQ", ""),
    "tencent:ap-hongkong": ("Hong Kong", "HKG", "HK", ""),
    "tencent:ap-singapore": ("Singapore", "SGP", "SG", ""),
    "tencent:ap-tokyo": ("Tokyo, Japan", "JPN", "JP-TK", ""),
    "tencent:ap-seoul": ("Seoul, South Korea", "KOR", "KR", ""),
    "tencent:ap-bangkok": ("Bangkok, Thailand", "THA", "TH", ""),
    "tencent:ap-jakarta": ("Jakarta, Indonesia", "IDN", "ID", ""),
    "tencent:na-siliconvalley": ("Silicon Valley, California, USA", "USA", "US-CAL-CISO", ""),
    "tencent:na-ashburn": ("Ashburn, Virginia, USA", "USA", _PJM, ""),
    "tencent:eu-frankfurt": ("Frankfurt, Germany", "DEU", "DE", ""),
    "tencent:sa-saopaulo": ("Sao Paulo, Brazil", "BRA", "BR-CS", ""),
    # ---- Huawei Cloud
    "huawei:cn-north-4": ("Beijing, China", "CHN", "CN-BJ", ""),
    "huawei:cn-north-9": ("Ulanqab, Inner Mongolia, China", "CHN", "CN-NM", ""),
    "huawei:cn-east-3": ("Shanghai, China", "CHN", "CN-SH", ""),
    "huawei:cn-south-1": ("Guangzhou, Guangdong, China", "CHN", "CN-GD", ""),
    "huawei:cn-southwest-2": ("Guiyang, Guizhou, China", "CHN", "CN-GZ", ""),
    "huawei:ap-southeast-1": ("Hong Kong", "HKG", "HK", ""),
    "huawei:ap-southeast-2": ("Bangkok, Thailand", "THA", "TH", ""),
    "huawei:ap-southeast-3": ("Singapore", "SGP", "SG", ""),
    "huawei:af-south-1": ("Johannesburg, South Africa", "ZAF", "ZA", ""),
    "huawei:sa-brazil-1": ("Sao Paulo, Brazil", "BRA", "BR-CS", ""),
    "huawei:la-south-2": ("Santiago, Chile", "CHL", "CL-SEN", ""),
    "huawei:tr-west-1": ("Istanbul, Turkey", "TUR", "TR", ""),
}

#: regions a provider names without publishing where they are: ecometer refuses to guess
UNLOCATED = {
    "aws:us-gov-east-1": "AWS names this GovCloud region only 'US-East' and publishes no state or city",
    "aws:us-gov-west-1": "AWS names this GovCloud region only 'US-West' and publishes no state or city",
    "azure:eastus3": "listed by Cloud Carbon Footprint (Georgia) but not among the regions Azure publishes",
}
