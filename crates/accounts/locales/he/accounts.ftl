sign-in-with = כניסה עם { $provider }
or-password = או היכנסו עם דוא״ל וסיסמה:
email = דוא״ל
password = סיסמה
forgot-password = שכחתם את הסיסמה?
login-failed = הדוא״ל או הסיסמה שגויים.
link-expired = הקישור הזה כבר שומש או שפג תוקפו. בקשו קישור חדש.
password-title-setup = יצירת המנהל הראשון
password-title-invite = קבלת ההזמנה
password-title-reset = בחירת סיסמה חדשה
password-lead-setup = בשרת הזה עדיין אין חשבון. החשבון שתיצרו כאן יהיה המנהל שלו.
password-lead-invite = בחרו שם וסיסמה כדי להשלים את יצירת החשבון.
password-lead-reset = בחרו סיסמה חדשה. מכשירים אחרים שמחוברים לחשבון ינותקו.
name = שם
new-password = סיסמה חדשה
password-hint = לפחות 10 תווים; כמה מילים ברצף הן סיסמה טובה.
password-submit-setup = יצירת מנהל
password-submit-invite = יצירת החשבון שלי
password-submit-reset = הגדרת סיסמה
reset-sent = אם ל־{ $email } יש חשבון, קישור לאיפוס הסיסמה בדרך. אם השרת לא שולח דוא״ל, מנהל יעביר אותו.
forgot-lead = הזינו את הדוא״ל של החשבון ונשלח קישור לבחירת סיסמה חדשה.
send-reset-link = שליחת קישור איפוס
profile-title = הפרופיל שלך
roles = תפקידים
role = תפקיד
no-roles = עדיין אין תפקידים. מנהל יכול להעניק לך תפקיד.
change-name = שינוי השם
save = שמירה
tokens-title = אסימוני API
tokens-lead = אסימונים מאפשרים לסקריפטים להשתמש ב־API בשמך. שלחו אותם ככותרת { $sample }. בטלו אסימונים שאינכם צריכים.
token-already-created = הטופס הזה כבר נשלח: האסימון נוצר אז, והסוד שלו הוצג רק באותה פעם. אם לא העתקתם אותו, בטלו את האסימון וצרו חדש.
token-see-list = לרשימת האסימונים
token-created = האסימון החדש "{ $name }". העתיקו אותו עכשיו: הוא לא יוצג שוב.
copy = העתקה
copied = הועתק
token-name = שם האסימון
token-scope = היקף
scope-api = פעולה בשמי
scope-delegate = האצלה: פעולה בשם משתמשים אחרים (למערכות מהימנות בלבד)
scope-label-api = פעולה בשמי
scope-label-delegate = האצלה
scope-subsonic = אפליקציות מוזיקה (מפתח שפותח רק את ממשק אפליקציות המוזיקה)
scope-label-subsonic = אפליקציות מוזיקה
create-token = יצירת אסימון
last-used = שימוש אחרון
token-expires = תוקף עד
token-never-expires = ללא הגבלה
token-expires-in-days = תוקף (בימים)
token-expires-hint = השאירו ריק לאסימון ללא תפוגה; אסימוני האצלה פגים אז אחרי 30 יום.
revoked = בוטל
revoke = ביטול
revoke-confirm = לבטל את האסימון? סקריפטים שמשתמשים בו יפסיקו לעבוד.
admin-tab-users = אנשים ותפקידים
admin-tab-outbox = דואר יוצא
done-granted = התפקיד הוענק.
done-revoked = התפקיד בוטל.
done-invited = ההזמנה נוצרה.
pass-on-link = השרת הזה לא שולח דוא״ל. העבירו את הקישור הזה לאדם שהזמנתם:
people-caption = כל מי שיש לו חשבון או תפקיד שממתין לו
not-signed-up = עדיין לא נרשם
revoke-role-confirm = לבטל את התפקיד?
grant-role = הענקת תפקיד
grant-role-lead = אפשר להעניק תפקיד לכתובת דוא״ל עוד לפני שבעליה נרשמים; הוא חל מהכניסה הראשונה.
grant = הענקה
invite-title = הזמנת אדם
invite-lead-mail = הוא יקבל דוא״ל עם קישור לבחירת סיסמה.
invite-lead-nomail = השרת הזה לא שולח דוא״ל: תקבלו קישור להעביר.
no-role = ללא תפקיד
invite = הזמנה
invite-already-made = הטופס הזה כבר נשלח: ההזמנה נוצרה אז, והקישור שלה לא יוצג כאן שוב. ההודעה מופיעה בדואר היוצא, עם הקישור כל עוד היא ממתינה.
invite-see-outbox = לדואר היוצא
outbox-lead-mail = כל הודעה שהשרת שלח או עומד לשלוח.
outbox-lead-nomail = לשרת הזה לא הוגדר שרת SMTP, ולכן ההודעות ממתינות כאן. העבירו את הקישורים וסמנו אותן כטופלו: קישור מוצג רק כל עוד ההודעה שלו ממתינה.
outbox-caption = הודעות יוצאות, החדשות קודם
to = אל
subject = נושא
link = קישור
mail-queued = בתור
mail-sent = נשלחה
mail-held = ממתינה למנהל
mail-passed-on = הועברה
mail-failed = נכשלה
mail-lapsed = הקישור שומש או שפג תוקפו
mark-passed-on = סימון כהועברה
no-mail = אין הודעות.

# Open sign-up with an email and a password.
sign-up = הרשמה
no-account = עדיין אין לכם חשבון?
signup-title = יצירת חשבון
signup-lead = הירשמו עם כתובת דוא״ל וסיסמה. נשלח אליכם קישור לאישור הכתובת; החשבון ייווצר כשתפתחו אותו.
signup-name = שם (לא חובה)
signup-name-hint = השם שאחרים יראו. בלעדיו תוצג כתובת הדוא״ל.
signup-submit = הרשמה
signup-have-account = כבר יש לכם חשבון?
signup-closed = ההרשמה לשרת הזה היא בהזמנה בלבד. בקשו ממנהל להזמין אתכם.
signup-before-setup = ההרשמה תיפתח אחרי שיוגדר לשרת המנהל הראשון.
signup-sent-title = בדקו את תיבת הדואר
signup-sent = שלחנו הודעה לכתובת שמסרתם. פתחו את הקישור שבה בתוך 24 שעות כדי להשלים את יצירת החשבון. אם השרת לא שולח דוא״ל, מנהל יעביר אותה.
signup-resend-title = לא הגיעה הודעה?
signup-resend-lead = חפשו בתיקיית דואר הזבל, או הזינו את כתובת הדוא״ל כדי לקבל קישור חדש. הקישור הקודם יפסיק אז לעבוד.
signup-resend = שליחת הקישור שוב
signup-verify-title = אישור כתובת הדוא״ל
signup-verify-lead = השלימו את יצירת החשבון של { $email }, ותהיו מחוברים אליו מיד.
signup-verify-submit = השלמת ההרשמה
login-unverified = כתובת הדוא״ל { $email } עדיין לא אושרה. פתחו את הקישור ששלחנו אליה כדי להשלים את יצירת החשבון, או בקשו קישור חדש.

# Mail. The body's last line ends the message.
mail-invite-subject = הוזמנת לטוטי
mail-invite-body =
    קיבלת הזמנה לטוטי מ־{ $inviter }.

    פתחו את הקישור הזה בתוך 7 ימים כדי לבחור סיסמה:
    { $link }
mail-reset-subject = איפוס הסיסמה שלך בטוטי
mail-reset-body =
    התקבלה בקשה לאפס את סיסמת טוטי של { $email }.

    פתחו את הקישור הזה בתוך שעה כדי לבחור סיסמה חדשה:
    { $link }

    אם לא אתם ביקשתם, התעלמו מההודעה הזו.
mail-signup-subject = חשבון חדש בטוטי
mail-signup-body =
    נוצר חשבון עבור { $name } <{ $email }> בכניסה דרך { $issuer }.

    להענקת תפקידים: { $link }
mail-signup-verify-subject = אישור כתובת הדוא״ל שלך בטוטי
mail-signup-verify-body =
    מישהו נרשם לטוטי עם { $email }.

    פתחו את הקישור הזה בתוך 24 שעות כדי לאשר שזה הייתם אתם ולהשלים את יצירת החשבון:
    { $link }

    אם לא אתם נרשמתם, התעלמו מההודעה הזו: שום חשבון לא ייווצר.
mail-signup-exists-subject = החשבון שלך בטוטי
mail-signup-exists-body =
    מישהו ניסה להירשם לטוטי עם הכתובת { $email }, שכבר יש לה חשבון, ולכן דבר לא השתנה.

    היכנסו עם הסיסמה שלכם כרגיל. אם שכחתם אותה, פתחו את הקישור הזה בתוך שעה כדי לבחור סיסמה חדשה:
    { $link }

    אם לא אתם ניסיתם, התעלמו מההודעה הזו.

# The audit log: what each action is called, and its detail worded from its values.
audit-command-line = שורת הפקודה
audit-action-sign-in-failed = כניסה שנכשלה
audit-detail-sign-in-failed = באמצעות { $method }, מהכתובת { $address }
audit-action-signed-in = כניסה
audit-detail-signed-in = באמצעות { $method }
audit-method-password = סיסמה
audit-method-openid-connect = ספק הזהות
audit-method-setup = קישור ההקמה
audit-method-invite = קישור הזמנה
audit-method-reset = קישור לאיפוס סיסמה
audit-method-signup = קישור לאישור הרשמה
audit-action-user-created = יצירת חשבון
audit-detail-user-created = { $email }
audit-detail-user-created-openid-connect = { $email }, נרשם דרך { $issuer }
audit-action-setup-link-made = יצירת קישור הקמה
audit-detail-setup-link-made = הקישור הקודם בוטל.
audit-action-setup-link-used = שימוש בקישור ההקמה
audit-action-invite-link-used = קבלת הזמנה
audit-action-reset-link-used = איפוס סיסמה
audit-action-signup-requested = בקשת הרשמה
audit-detail-signup-requested = { $email }, מהכתובת { $address }
audit-detail-signup-requested-existing = { $email }, מהכתובת { $address }: כבר יש חשבון, ולכן נשלח במקום זאת קישור לאיפוס סיסמה
audit-detail-signup-requested-resent = { $email }, מהכתובת { $address }: הקישור נשלח שוב
audit-action-signup-verified = אישור הרשמה
audit-detail-signup-verified = { $email }
audit-action-invited = הזמנה
audit-detail-invited = { $email }
audit-action-role-granted = הענקת תפקיד
audit-detail-role-granted = { $role } ל־{ $email }
audit-action-role-revoked = ביטול תפקיד
audit-detail-role-revoked = { $role } מ־{ $email }
audit-action-token-created = יצירת אסימון
audit-detail-token-created = { $name } עבור { $email }, היקף: { $scope }
audit-detail-token-created-expiring = { $name } עבור { $email }, היקף: { $scope }, בתוקף { $days } ימים
audit-action-token-revoked = ביטול אסימון
audit-detail-token-revoked = אסימון { $token }
audit-action-delegated-request = בקשה בשם אדם אחר
audit-detail-delegated-request = { $request }

# Problems as pages in other languages word them; English pages show the server's own
# words, which often name the value at fault.
problem-link-expired = הקישור הזה כבר שומש או שפג תוקפו. בקשו קישור חדש.
problem-signup-closed = ההרשמה לשרת הזה היא בהזמנה בלבד. בקשו ממנהל להזמין אתכם.
problem-last-admin = זה המנהל האחרון. הפכו מישהו אחר למנהל קודם.
problem-account-exists = כבר יש חשבון עם הדוא״ל הזה.
problem-already-set-up = לשרת הזה כבר יש מנהל. היכנסו במקום זאת.
problem-invalid-field-email = יש להזין כתובת דוא״ל תקינה, עם @ ושם מתחם.
problem-invalid-field-password = הסיסמה צריכה להכיל לפחות 10 תווים ולא יותר מ־512; כמה מילים ברצף הן סיסמה טובה.
problem-invalid-field-name = יש להזין שם בשורה אחת: לא ריק, לא ארוך מדי, ובלי תווים בלתי נראים.
problem-invalid-field-expires_in_days = יש להזין מספר ימים בין 1 ל־3650, או להשאיר ריק.
problem-invalid-field-scope = יש לבחור אחד מההיקפים שברשימה.
problem-invalid-field-role = יש לבחור אחד מהתפקידים שברשימה.
problem-invalid-field-roles = יש לבחור תפקידים מתוך הרשימה.
problem-invalid-field-lang = יש לבחור אחת מהשפות שברשימה.
problem-invalid-field-form_key = הטופס הזה ישן או חסר. בדקו את מה שכתוב בו ושלחו אותו שוב.
problem-forbidden-scope = רק מנהלים יכולים ליצור אסימוני האצלה.
problem-invalid-token = אסימון ה־API הזה לא מוכר, בוטל או שפג תוקפו. צרו חדש בדף הפרופיל.
problem-sign-in-elsewhere = הכניסה הזו לא התחילה בדפדפן הזה, או שנמשכה יותר מ־10 דקות. התחילו אותה שוב מדף הכניסה.
problem-sign-in-expired = הכניסה הזו כבר שומשה או שנמשכה זמן רב מדי. התחילו אותה שוב מדף הכניסה.
problem-sign-in-refused = ספק הזהות סירב לכניסה.
problem-wrong-issuer = התשובה הזו לא הגיעה מספק הזהות שהוגדר. התחילו את הכניסה שוב.
problem-identity-provider-unreachable = לא ניתן להגיע לספק הזהות. נסו שוב בעוד דקה, או היכנסו עם סיסמה.
problem-identity-provider-refused = ספק הזהות לא אישר מי אתם. נסו שוב.
delete-account-title = מחיקת החשבון שלי
delete-account-lead = החשבון שלך יימחק, ואיתו כל מה שהסטודיואים שומרים עליך: ההקלטות וקובצי השמע שלהן, התשובות וההגדרות שלך. אי אפשר לבטל זאת.
delete-account-confirm = אני רוצה שהחשבון שלי וכל מה שבו יימחקו
delete-account-sure = למחוק את החשבון שלך לצמיתות?
delete-account = מחיקת החשבון שלי
audit-action-account-deleted = חשבון נמחק
audit-detail-account-deleted = מחק את החשבון של { $email }
