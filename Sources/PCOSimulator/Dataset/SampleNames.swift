/// Word lists the seeded dataset draws from. Plain and invented, so nothing resembles a real person.
enum SampleNames {
    static let firstNames = [
        "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
        "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
        "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Paul", "Sandra",
        "Steven", "Ashley", "Andrew", "Kimberly", "Joshua", "Emily", "Kenneth", "Donna", "Kevin", "Michelle",
        "Brian", "Carol", "George", "Amanda", "Timothy", "Melissa", "Ronald", "Deborah", "Jason", "Stephanie",
        "Edward", "Rebecca", "Jeffrey", "Sharon", "Ryan", "Laura", "Jacob", "Cynthia", "Gary", "Dorothy",
        "Nicholas", "Amy", "Eric", "Kathleen", "Jonathan", "Angela", "Stephen", "Shirley", "Larry", "Emma",
        "Justin", "Brenda", "Scott", "Pamela", "Brandon", "Nicole", "Benjamin", "Anna", "Samuel", "Samantha",
        "Gregory", "Katherine", "Alexander", "Christine", "Patrick", "Debra", "Frank", "Rachel", "Raymond",
        "Carolyn", "Jack", "Janet", "Dennis", "Maria", "Jerry", "Olivia", "Tyler", "Heather", "Aaron", "Helen",
        "José", "Zoë", "Renée", "Chloé", "Björn", "Siobhán",
    ]

    static let lastNames = [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
        "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez",
        "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart",
        "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
        "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
        "O'Brien", "Van der Berg", "Müller", "Ødegaard",
    ]

    static let churchNames = [
        "Grace Community Church", "First Baptist Church", "Hope Fellowship", "Living Water Church",
        "Cornerstone Chapel", "New Life Church", "Trinity Lutheran Church", "St. Mark's Parish",
        "Redeemer Presbyterian", "Harvest Bible Church", "Calvary Chapel", "Mosaic Church", "Crossroads Church",
        "Faith Bible Church", "Bethel Assembly", "Riverside Community Church",
    ]

    static let timeZones = [
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
        "Europe/London", "Australia/Sydney", "America/Anchorage",
    ]

    static let cities: [(city: String, state: String, zip: String)] = [
        ("Springfield", "IL", "62701"), ("Franklin", "TN", "37064"), ("Madison", "WI", "53703"),
        ("Greenville", "SC", "29601"), ("Salem", "OR", "97301"), ("Fairview", "TX", "75069"),
        ("Riverside", "CA", "92501"), ("Georgetown", "KY", "40324"), ("Clinton", "MS", "39056"),
        ("Arlington", "VA", "22201"), ("Bristol", "CT", "06010"), ("Dover", "DE", "19901"),
    ]

    static let streets = [
        "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Blvd", "Lake Rd",
        "Hillcrest Dr", "Church St", "Park Ave", "Sunset Blvd", "River Rd", "Meadow Ln",
    ]

    static let campusNames = ["Main Campus", "North Campus", "South Campus", "East Campus", "West Campus", "Online"]

    static let groupTypeNames = [
        "Small Groups", "Bible Studies", "Serving Teams", "Youth", "Men's Ministry", "Women's Ministry",
        "Recovery", "Classes", "Prayer Teams", "Young Adults",
    ]

    static let groupWords = [
        "Tuesday Night", "Downtown", "Young Married", "Empty Nesters", "Worship", "Alpha", "Parenting",
        "College", "Seniors", "Moms", "Dads", "Lunch", "Sunrise", "Book of Romans", "Hospitality", "Greeters",
    ]

    static let emailDomains = ["example.com", "example.org", "mailinator.com", "example.net"]
    static let locations = ["Home", "Work", "Other", "Mobile"]
    static let memberships = ["Member", "Regular Attender", "Visitor", "Participant"]
    static let carriers = ["AT&T", "Verizon", "T-Mobile", "Sprint"]
}
